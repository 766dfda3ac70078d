package cluster

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/registry"
)

// publishWindow bounds the writes of one flush in flight at once: enough
// to keep the NATS server busy over loopback or a LAN, few enough that a
// flush of a mass reconnect does not queue tens of thousands of
// acknowledgements behind each other.
const publishWindow = 512

// ErrNATSDown: the node's NATS connection is not up; the flush is kept
// for the next one.
var ErrNATSDown = errors.New("cluster: NATS connection is not up")

// publisher writes a flush's records to the bucket's stream with
// asynchronous publishes: one round trip for a window of records, not one
// per record. Each publish carries the compare-and-set a key-value
// Update or Create would (the expected last sequence of the key's
// subject), so takeover by revision stays exact.
type publisher struct {
	once   sync.Once
	js     jetstream.JetStream
	err    error
	prefix string // "$KV.<bucket>."
}

// pending is one record in flight.
type pending struct {
	rec  registry.Record
	f    jetstream.PubAckFuture
	sent time.Time // for the publish-to-acknowledgement histogram
}

// publisherOf makes the node's publishing JetStream context once.
func (n *Node) publisherOf() (*publisher, error) {
	p := &n.pub
	p.once.Do(func() {
		p.prefix = "$KV." + n.opts.clientsBucket + "."
		p.js, p.err = jetstream.New(n.nc,
			jetstream.WithPublishAsyncMaxPending(publishWindow),
			jetstream.WithPublishAsyncTimeout(n.opts.opTimeout))
	})
	return p, p.err
}

// saveAsync writes put with up to publishWindow publishes in flight,
// continuously: each acknowledgement taken lets the next record go, so a
// record never waits for a whole window's acknowledgements before it is
// even sent (that wait, once per window, was where a fresh registration
// queued behind a backlog). Acknowledgements are taken oldest first; the
// stream answers one publisher in order. A record whose compare-and-set
// lost (another node, or this node's earlier run, wrote since) goes
// through write, the read-and-decide path, once everything in flight has
// answered, in the order of put. It stops publishing at the first other
// failure and returns it once what is in flight has answered; the
// registry then keeps the whole batch for the next flush, and the records
// that were written are written again, harmlessly, on their new revision.
func (n *Node) saveAsync(put []registry.Record) error {
	if !n.natsConnected() {
		return ErrNATSDown
	}
	p, err := n.publisherOf()
	if err != nil {
		return fmt.Errorf("cluster: jetstream: %w", err)
	}
	defer n.backlog.begin(len(put))()
	var (
		q     = newPendingQueue(min(len(put), publishWindow))
		retry []registry.Record
		first error
	)
	settleOldest := func() {
		w := q.pop()
		n.metrics.inflight.Dec()
		conflict, err := n.settle(w)
		switch {
		case conflict:
			retry = append(retry, w.rec)
		case err != nil && first == nil:
			first = err
		}
	}
	for _, rec := range put {
		if first != nil {
			break
		}
		rec.Node = n.id
		f, err := n.publishOne(p, rec)
		if err != nil {
			n.metrics.writes.WithLabelValues(writeErr).Inc()
			first = err
			break
		}
		q.push(pending{rec: rec, f: f, sent: time.Now()})
		n.metrics.inflight.Inc()
		if q.len() >= publishWindow {
			settleOldest()
		}
	}
	for q.len() > 0 {
		settleOldest()
	}
	if first != nil {
		return first
	}
	for _, rec := range retry {
		if err := n.write(rec); err != nil {
			n.metrics.writes.WithLabelValues(writeErr).Inc()
			return err
		}
	}
	return nil
}

// pendingQueue is the writes in flight, oldest first: a ring, so that a
// flush of thousands of records reuses one window's worth of slots.
type pendingQueue struct {
	buf        []pending
	head, size int
}

func newPendingQueue(capacity int) *pendingQueue {
	return &pendingQueue{buf: make([]pending, max(capacity, 1))}
}

func (q *pendingQueue) len() int { return q.size }

func (q *pendingQueue) push(w pending) {
	if q.size == len(q.buf) {
		grown := make([]pending, 2*len(q.buf))
		for i := range q.size {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = w
	q.size++
}

func (q *pendingQueue) pop() pending {
	w := q.buf[q.head]
	q.buf[q.head] = pending{} // the record and its future are done with
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return w
}

// publishOne sends rec with the compare-and-set of its write: over this
// node's last write of it when there is one, else only where the key has
// never been written (a Create).
func (n *Node) publishOne(p *publisher, rec registry.Record) (jetstream.PubAckFuture, error) {
	val, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	last, known := n.published[rec.CID]
	n.mu.Unlock()
	expect := uint64(0)
	if known {
		expect = last.rev
	}
	return n.publishEncoded(p, rec, val, expect)
}

// publishAt sends rec only over revision rev of its key.
func (n *Node) publishAt(p *publisher, rec registry.Record, rev uint64) (jetstream.PubAckFuture, error) {
	val, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	return n.publishEncoded(p, rec, val, rev)
}

// publishEncoded sends val, rec encoded, with the headers the watchers'
// index reads instead of the record (watcher.go).
func (n *Node) publishEncoded(p *publisher, rec registry.Record, val []byte, expect uint64) (jetstream.PubAckFuture, error) {
	m := &nats.Msg{Subject: p.prefix + keyOf(rec.CID), Data: val, Header: recordHeaders(rec.Node, rec.CStatus)}
	f, err := p.js.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(expect))
	if err != nil {
		return nil, fmt.Errorf("cluster: write %s: %w", rec.CID, err)
	}
	return f, nil
}

// settle waits for w's acknowledgement (the publisher's timeout bounds
// it) and notes the write; conflict says the compare-and-set lost.
func (n *Node) settle(w pending) (conflict bool, err error) {
	select {
	case ack := <-w.f.Ok():
		n.metrics.ackSeconds.Observe(time.Since(w.sent).Seconds())
		n.wrote(w.rec, ack.Sequence)
		return false, nil
	case err = <-w.f.Err():
	case <-time.After(2 * n.opts.opTimeout): // the publisher's own timeout failed to fire
		err = jetstream.ErrAsyncPublishTimeout
	}
	if isConflict(err) {
		return true, nil
	}
	n.metrics.writes.WithLabelValues(writeErr).Inc()
	return false, fmt.Errorf("cluster: write %s: %w", w.rec.CID, err)
}
