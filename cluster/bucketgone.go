package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsretry"
)

// NATS restarted without its store (a pod without a volume), or the
// buckets deleted by hand: every write to them failed until a node
// restarted, with every probe green, and the identity watches, which
// resume after the last revision they applied, skipped the new buckets'
// first changes (cluster audit). A heartbeat that fails now looks: a
// nodes bucket JetStream says is gone is made again, with the others, as
// a start makes them; this node's slots are written again at once, and
// the identity watch finds its buckets made anew (identitywatch.go).

// remakeIfGone makes the cluster's buckets again when the nodes bucket
// is gone, and reports whether it did. Called by the heartbeat loop after
// a failed beat: its look is bounded by within, so that a NATS that does
// not answer (a partition) delays the next beat by no more than that.
func (n *Node) remakeIfGone(within time.Duration) bool {
	if !n.natsConnected() {
		return false
	}
	look, cancel := context.WithTimeout(n.ctx, within)
	_, err := n.js.KeyValue(look, n.opts.nodesBucket)
	cancel()
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return false
	}
	ctx, cancel := natsretry.SetupContext(n.ctx, n.log)
	defer cancel()
	if err := n.remakeBuckets(ctx); err != nil {
		n.log.Warn("cluster: the cluster's buckets are gone from NATS and could not be made again; tried at the next heartbeat", zap.Error(err))
		return false
	}
	n.metrics.remade.Inc()
	n.log.Error("cluster: the cluster's buckets were gone from NATS (restarted without its store, or deleted): made again; "+
		"every node writes its clients again, and the credentials and bans NATS held are gone from every node: enroll and ban again",
		zap.String("clients_bucket", n.opts.clientsBucket), zap.String("nodes_bucket", n.opts.nodesBucket))
	n.lookForRenewal(time.Time{})
	return true
}

// renewEvery is how often the heartbeat loop looks at the clients
// bucket's stream: one JetStream API request a look.
const renewEvery = 5 * time.Second

// lookForRenewal, every renewEvery from the heartbeat loop (at once with
// a zero now), finds the clients bucket made anew, by this node or
// another: its revisions count from 1 again. The node then writes all its
// clients into it, and its watch reads it from its first revision: the
// watch resumed after the old bucket's last, and every node's list
// missed the registrations made after the wipe (cluster audit). What the
// mirror held of the old bucket stays until the node restarts: the note
// says so (HealthNote).
func (n *Node) lookForRenewal(now time.Time) {
	if !now.IsZero() && now.Sub(n.lastRenewCheck) < renewEvery {
		return
	}
	n.lastRenewCheck = now
	if !n.natsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.opts.heartbeatTTL/6)
	st, err := n.js.Stream(ctx, "KV_"+n.opts.clientsBucket)
	cancel()
	if err != nil {
		return // gone: the failed beat's look makes it again
	}
	made := st.CachedInfo().Created.UnixNano()
	if n.clientsMade.Swap(made) == made {
		return
	}
	n.renewedAt.CompareAndSwap(0, time.Now().UnixNano())
	n.log.Error("cluster: the clients bucket was made anew (NATS lost its store): this node writes its clients into it again "+
		"and reads it from its first revision; what its list held of the old one stays until it restarts: restart the nodes one at a time",
		zap.String("bucket", n.opts.clientsBucket))
	n.mu.Lock()
	n.lastRev = 0
	n.mu.Unlock()
	select {
	case n.rewatch <- struct{}{}:
	default:
	}
	n.rewriteOwnSlots()
}

// remakeBuckets makes every bucket a start makes. Another node may be
// making them too: CreateOrUpdate takes that.
func (n *Node) remakeBuckets(ctx context.Context) error {
	if _, err := clientsBucket(ctx, n.js, n.opts); err != nil {
		return err
	}
	if _, _, err := nodesBucket(ctx, n.js, n.id, n.opts); err != nil {
		return err
	}
	for _, b := range []string{CredentialsBucket, BansBucket} {
		if _, err := identityBucket(ctx, n.js, b, n.opts.replicas); err != nil {
			return err
		}
	}
	return nil
}

// rewriteOwnSlots has the next flush write every slot of this node as
// new: the bucket they were in is gone.
func (n *Node) rewriteOwnSlots() {
	o := &n.own
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, sl := range o.slots {
		sl.lastSeq, sl.dirty = 0, true
	}
	if err := n.writeSlotsLocked(); err != nil {
		n.log.Warn("cluster: this node's clients could not be written to the bucket made again; the next flush tries again", zap.Error(err))
	}
}
