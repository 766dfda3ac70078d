package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
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
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if !errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		return kv, err
	}
	o.log.Warn("cluster: this NATS server has no limit markers (nats-server 2.11 or later has): "+
		"records the bucket expires stay in the nodes' lists until they restart",
		zap.String("bucket", o.clientsBucket))
	cfg.LimitMarkerTTL = 0
	return js.CreateOrUpdateKeyValue(ctx, cfg)
}

// nodesBucket makes or updates the bucket of the nodes' heartbeats: a key
// ages out when its node stops renewing it.
func nodesBucket(ctx context.Context, js jetstream.JetStream, o options) (jetstream.KeyValue, error) {
	return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      o.nodesBucket,
		Description: "cliser node heartbeats; a key ages out when its node stops renewing it",
		History:     1,
		TTL:         o.heartbeatTTL,
		// File, not memory: a memory stream is gone after a full restart
		// of the NATS servers, and the nodes' heartbeats with it for good.
		Storage:  jetstream.FileStorage,
		Replicas: o.replicas,
	})
}
