package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The headers JetStream's key-value store puts on deletes and purges, and
// on the markers of records it expired (as nats.go's key watcher reads
// them).
const (
	hdrKVOperation  = "KV-Operation"
	hdrMarkerReason = "Nats-Marker-Reason"
)

// recordsHeartbeat is the records watch's idle heartbeat. nats.go makes the
// consumer again after two missed ones, and on R3 the consumer (one
// replica) may live on a NATS server other than the node's: when that
// server stopped, nats.go's default (5 s) left the node's list behind
// every other node's writes for up to 20 s; at 1 s it is a few seconds.
// Idle, it costs one small message a second per node. (The identity
// watches, which a ban's 2 s depends on, take identityHeartbeat.)
const recordsHeartbeat = time.Second

// change is one bucket change as the watch delivers it.
type change struct {
	key    string
	rev    uint64
	op     jetstream.KeyValueOp
	value  []byte // the slot's value
	writer string // the node that wrote it (hdrWriter); "" when unsaid
}

// bucketWatcher is a key watcher of one bucket that hands on the writer's
// header and takes the idle heartbeat it is given (nats.go's KeyWatcher
// does neither: its heartbeat is a fixed 5 s). An ordered push consumer,
// as that watcher uses: it restarts itself past a gap or a lost consumer.
type bucketWatcher struct {
	mu       sync.Mutex
	updates  chan *change // nil once: the initial values are all delivered
	sub      *nats.Subscription
	pending  uint64 // initial values still to come; done once 0
	initDone bool
	prefix   string          // "$KV.<bucket>."
	stopped  chan struct{}   // closed by Stop
	stopOnce sync.Once       // Stop's
	ctxDone  <-chan struct{} // the watch's context's
}

// watchRecords watches the clients bucket from revision from (0: its
// newest value of every key, then every change).
func (n *Node) watchRecords(ctx context.Context, from uint64) (*bucketWatcher, error) {
	return watchBucket(ctx, n.nc, n.opts.clientsBucket, from, recordsHeartbeat)
}

// watchMake bounds each request that makes a watch's consumer (ctx, which
// the subscription lives by, has no deadline). Made while the bucket's
// stream elects a leader (its server killed), the creation waited out
// nats.go's API timeout, 5 s, and then failed: a ban made once the
// election was over reached a node 2.97 s after its answer, past
// IDENTITY.md's 2 s. Bounded, a try fails within a second and the next
// follows the election.
const watchMake = time.Second

// watchBucket watches bucket from revision from (0: its newest value of
// every key, a delete where a key ended with one, then every change), its
// consumer made again after two missed idle heartbeats of hb.
func watchBucket(ctx context.Context, nc *nats.Conn, bucket string, from uint64, hb time.Duration) (*bucketWatcher, error) {
	js, err := nc.JetStream(nats.MaxWait(watchMake))
	if err != nil {
		return nil, err
	}
	w := &bucketWatcher{updates: make(chan *change, 256), prefix: "$KV." + bucket + ".",
		stopped: make(chan struct{}), ctxDone: ctx.Done()}
	opts := []nats.SubOpt{nats.BindStream("KV_" + bucket), nats.OrderedConsumer(),
		nats.IdleHeartbeat(hb), nats.DeliverLastPerSubject(), nats.Context(ctx)}
	if from > 0 {
		opts = append(opts, nats.StartSequence(from))
	}
	// Under the lock, so that the first message waits for pending to be set.
	w.mu.Lock()
	defer w.mu.Unlock()
	sub, err := js.Subscribe(w.prefix+">", w.deliver, opts...)
	if err != nil {
		return nil, err
	}
	sub.SetClosedHandler(func(string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		close(w.updates)
	})
	if p, err := sub.InitialConsumerPending(); err == nil {
		if p == 0 {
			w.initDone = true
			w.updates <- nil
		}
		w.pending = p
	}
	w.sub = sub
	return w, nil
}

// Updates delivers the changes; a nil once the initial values are in.
func (w *bucketWatcher) Updates() <-chan *change { return w.updates }

// Stop ends the watch; Updates is closed after. A delivery waiting for
// room in Updates gives up, so the reader need not drain it.
func (w *bucketWatcher) Stop() error {
	w.stopOnce.Do(func() { close(w.stopped) })
	return w.sub.Unsubscribe()
}

// send hands c on; false once the watch is stopped or its context ended.
// Its reader leaves on a rewatch or a stop with the channel maybe full:
// a plain send then blocked the subscription's goroutine for ever, since
// nats.go runs the closed handler only after the callback returns, and it
// kept the old consumer's pending messages (audit).
func (w *bucketWatcher) send(c *change) bool {
	select {
	case w.updates <- c:
		return true
	case <-w.stopped:
	case <-w.ctxDone:
	}
	return false
}

// deliver runs on the subscription's goroutine; it blocks while the
// channel is full, by design (the consumer's flow control holds NATS),
// until the watch stops.
func (w *bucketWatcher) deliver(m *nats.Msg) {
	md, err := m.Metadata()
	if err != nil || len(m.Subject) <= len(w.prefix) {
		return
	}
	c := changeOf(m.Subject[len(w.prefix):], md.Sequence.Stream, m.Header, m.Data)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.send(c) {
		return
	}
	if !w.initDone {
		w.pending--
		if w.pending == 0 || md.NumPending == 0 {
			w.initDone = true
			w.send(nil)
		}
	}
}

// changeOf reads a change from a message's key, headers and data (the
// value, kept for a put only). Goroutine-safe.
func changeOf(key string, rev uint64, h nats.Header, data []byte) *change {
	c := &change{key: key, rev: rev}
	switch h.Get(hdrKVOperation) {
	case "DEL":
		c.op = jetstream.KeyValueDelete
		return c
	case "PURGE":
		c.op = jetstream.KeyValuePurge
		return c
	}
	switch h.Get(hdrMarkerReason) {
	case "MaxAge", "Purge":
		c.op = jetstream.KeyValuePurge
		return c
	case "Remove":
		c.op = jetstream.KeyValueDelete
		return c
	}
	c.writer = h.Get(hdrWriter)
	c.value = data
	return c
}
