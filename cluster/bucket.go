package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsretry"
)

// markerTTL is how long the clients bucket keeps the marker it writes when
// it expires a record (retention). The marker is how the expiry reaches
// every node's watch; a watch resumed after NATS was away for longer than
// this misses it, and that node keeps the record in its mirror until it
// restarts. An hour of markers costs one small message per record expired
// in that hour.
const markerTTL = time.Hour

// clientsBucket makes or updates the clients bucket. Its records age out
// after the retention; with limit markers (nats-server 2.11 or later) each
// expiry is written as a purge that the nodes' watches see, so their
// mirrors drop the record as the bucket does. Markers are asked for even
// with no retention: once a bucket has them JetStream can not take them
// away, and a later start with a retention then needs them.
func clientsBucket(ctx context.Context, js jetstream.JetStream, o options) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:         o.clientsBucket,
		Description:    "cliser client records, keyed by client id",
		History:        1,
		TTL:            o.retention,
		Storage:        jetstream.FileStorage,
		Replicas:       o.replicas,
		LimitMarkerTTL: markerTTL,
	}
	kv, err := natsretry.CreateOrUpdateKV(ctx, js, cfg)
	if !errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		return kv, err
	}
	o.log.Warn("cluster: this NATS server has no limit markers (nats-server 2.11 or later has): "+
		"records the bucket expires stay in the nodes' lists until they restart",
		zap.String("bucket", o.clientsBucket))
	cfg.LimitMarkerTTL = 0
	return natsretry.CreateOrUpdateKV(ctx, js, cfg)
}

// identityBucket makes or updates one of the identity buckets.
func identityBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	what := map[string]string{
		CredentialsBucket: "cliser credentials (SHA-256 digests only), keyed by client id",
		BansBucket:        "cliser bans, keyed by kind.value",
	}[bucket]
	kv, err := natsretry.CreateOrUpdateKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: what,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// nodesBucket makes or updates the bucket of the nodes' heartbeats: a key
// ages out when its node stops renewing it. Its TTL is the cluster's
// heartbeat, and it returns the one this node must keep. A node started
// with another --cluster-heartbeat follows the bucket's while another node
// is alive: each start set the bucket to its own, and a shorter TTL aged
// out the keys of nodes renewing every third of a longer one between two
// renewals (an audit saw the webhook lease, which follows it, move back
// and forth every 3 s and batches sent twice). With none alive it takes
// this node's, so a heartbeat is changed by restarting every node.
func nodesBucket(ctx context.Context, js jetstream.JetStream, id string, o options) (jetstream.KeyValue, time.Duration, error) {
	ttl := o.heartbeatTTL
	type live struct {
		ttl    time.Duration
		others int
	}
	if l, err := natsretry.Setup(ctx, func(ctx context.Context) (live, error) {
		cur, others, err := liveHeartbeats(ctx, js, o.nodesBucket, id)
		return live{cur, others}, err
	}); err != nil {
		return nil, 0, err
	} else if cur, others := l.ttl, l.others; cur != 0 && cur != ttl && others > 0 {
		o.log.Warn("cluster: --cluster-heartbeat differs from the cluster's, which its live nodes keep: this node keeps the cluster's; "+
			"give every node the same, and restart them all to change it",
			zap.Duration("cluster_heartbeat", cur), zap.Duration("this_nodes_flag", ttl), zap.Int("live_nodes", others))
		ttl = cur
	}
	kv, err := natsretry.CreateOrUpdateKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      o.nodesBucket,
		Description: "cliser node heartbeats; a key ages out when its node stops renewing it",
		History:     1,
		TTL:         ttl,
		// File, not memory: a memory stream is gone after a full restart
		// of the NATS servers, and the nodes' heartbeats with it for good.
		Storage:  jetstream.FileStorage,
		Replicas: o.replicas,
	})
	return kv, ttl, err
}

// liveHeartbeats reads the nodes bucket, when there is one: its TTL, and
// how many heartbeats of nodes other than id it holds (each is renewed
// within the TTL, or gone).
func liveHeartbeats(ctx context.Context, js jetstream.JetStream, bucket, id string) (time.Duration, int, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, 0, err
	}
	others := 0
	for k := range keys.Keys() {
		if k != keyOf(id) {
			others++
		}
	}
	return st.TTL(), others, nil
}
