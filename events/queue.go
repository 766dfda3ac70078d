package events

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
)

// queue is the hand-off between producers (event loops, the registry, the
// admin API) and the one writer goroutine. A push takes a mutex for an
// append and never waits on the writer: the hot path only ever pays that.
//
// It is bounded: past its limit an event is dropped, counted in
// cliser_events_dropped_total and logged once per episode (not once per
// event), and the log reports itself unhealthy until it drains. Blocking
// the loop instead would make a handshake wait on the disk, which EVENTS.md
// forbids; growing without bound would trade the disk's trouble for the
// process's memory.
type queue struct {
	mu       sync.Mutex
	blocks   [][]queued // pending events in blocks of blockSize: a push never copies the backlog
	n        int        // events in blocks
	spare    [][]queued // emptied blocks, for reuse
	writing  int        // events the writer took and has not stored or put back
	accepted uint64     // events ever pushed and not dropped (the Stream's Stored waits on them)
	limit    int
	closedAt time.Time // zero until close
	// wroteAt is when the writer last got events into the store (wrote);
	// the writer's alone, read by retryAfter on its goroutine.
	wroteAt time.Time
	// taking is take's list of blocks, kept between takes: take runs on
	// the writer, and on a stop's spill once the writer has ended.
	taking   [][]queued
	dropping loggate.Episode // drops, from the first to the drain that ends them

	wake chan struct{} // capacity 1: "there is something to take"
	// abandoned is closed when a closing log's stop is out of time
	// (CloseWithin): the writer gives the queued events up at once.
	abandoned   chan struct{}
	abandonOnce sync.Once
	closing     chan struct{} // closed by close: a writer's retry wait begun before ends with it
	closeOnce   sync.Once
	dropped     atomic.Uint64
	givenUp     atomic.Int64 // events still queued when the writer gave up at close
	// afterTake, when set (tests), is called after each take, outside the
	// lock, with how many events it took.
	afterTake func(took int)
	m         *metrics
	log       *zap.Logger
}

func newQueue(limit int, m *metrics, log *zap.Logger) *queue {
	return &queue{limit: limit, wake: make(chan struct{}, 1), abandoned: make(chan struct{}), closing: make(chan struct{}), m: m, log: log}
}

// push queues ev. It reports false when the event was dropped (queue full
// or closed). Safe for concurrent use. An event without an id gets one
// from the writer, which takes events in the order they were pushed.
func (q *queue) push(ev Event) bool {
	q.mu.Lock()
	if !q.closedAt.IsZero() || q.n >= q.limit {
		first := q.dropping.Fail() && q.closedAt.IsZero()
		q.mu.Unlock()
		q.dropped.Add(1)
		q.m.dropped.Inc()
		if first {
			q.log.Error("events: the writer is behind and its queue is full; events are being dropped (cliser_events_dropped_total)",
				zap.Int("queue_limit", q.limit))
		}
		return false
	}
	q.appendLocked(&ev)
	q.mu.Unlock()
	q.signal()
	return true
}

// pushKept queues evs past the limit: events an earlier run accepted (a
// spill), whose drop would lose them for good, where a new event's drop
// is counted as the overload it is. False when the queue is closed: none
// was queued. Safe for concurrent use.
func (q *queue) pushKept(evs []Event) bool {
	q.mu.Lock()
	if !q.closedAt.IsZero() {
		q.mu.Unlock()
		return false
	}
	for i := range evs {
		q.appendLocked(&evs[i])
	}
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *queue) appendLocked(ev *Event) {
	last := len(q.blocks) - 1
	if last < 0 || len(q.blocks[last]) == blockSize {
		q.blocks = append(q.blocks, q.newBlockLocked())
		last++
	}
	q.blocks[last] = append(q.blocks[last], queuedOf(ev))
	q.n++
	q.accepted++
}

// signal wakes the writer if it waits for events.
func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// acceptedCount is how many events were ever pushed and not dropped.
func (q *queue) acceptedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.accepted
}

// blockSize is the events of one block of the queue. A block is
// blockBytes (~15 KB); the queue keeps up to maxSpareBurst of them between
// bursts.
// At 512 events (~116 KB) the spares and the last block were ~0.5 MB held
// for good after a burst.
const blockSize = 128

const blockBytes = blockSize * int(unsafe.Sizeof(queued{}))

func (q *queue) newBlockLocked() []queued {
	if n := len(q.spare); n > 0 {
		b := q.spare[n-1]
		q.spare = q.spare[:n-1]
		return b
	}
	return make([]queued, 0, blockSize)
}

// take moves up to max pending events (whole blocks, at least one) into
// buf (emptied first) and returns it. The caller keeps buf, so a steady
// writer copies each event once and allocates nothing. Not safe for
// concurrent use: the writer's, then a stop's once the writer ended.
func (q *queue) take(buf []Event, max int) []Event {
	blocks := q.moveBlocks(q.taking, max)
	q.taking = blocks
	q.took(blocks)
	buf = buf[:0]
	for _, b := range blocks {
		for i := range b {
			buf = append(buf, b[i].event())
		}
	}
	q.release(blocks)
	return buf
}

// takeBlocks moves up to max pending events, whole blocks and at least
// one, into blocks (emptied first) and returns it: the single node's
// writer reads the events where the producers put them, and gives the
// blocks back with written (or putBackBlocks) once they are stored.
func (q *queue) takeBlocks(blocks [][]queued, max int) [][]queued {
	blocks = q.moveBlocks(blocks, max)
	q.took(blocks)
	return blocks
}

// took tells a test's afterTake how many events a take took.
func (q *queue) took(blocks [][]queued) {
	if q.afterTake != nil {
		q.afterTake(countEvents(blocks))
	}
}

// moveBlocks is a take's part under the lock: what it takes is what the
// writer is writing (in cliser_events_queued until stored or put back).
func (q *queue) moveBlocks(blocks [][]queued, max int) [][]queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	blocks = blocks[:0]
	taken, n := 0, 0
	for _, b := range q.blocks {
		if n > 0 && n+len(b) > max {
			break
		}
		blocks = append(blocks, b)
		n += len(b)
		taken++
	}
	rest := copy(q.blocks, q.blocks[taken:])
	clear(q.blocks[rest:])
	q.blocks, q.n = q.blocks[:rest], q.n-n
	q.writing = n
	if q.n == 0 && q.dropping.OK() {
		q.log.Info("events: the writer caught up; no more drops")
	}
	return blocks
}

// maxSpareBurst is the most emptied blocks kept for reuse: a whole
// transaction's (logChunk events), not a storm's backlog (64 blocks were
// 8 MB kept for good after one storm, the most of what the log added to
// the RSS per client). A block is kept only once it came back, so a
// trickle that fills one block keeps one. Kept up to the last
// transaction's count, a stream whose transactions went 10, 12, 10, 12
// blocks made new ones at each rise (34 B an event in
// BenchmarkLogAppendPaced); at 8, a burst's closes made 33 new 29 KB
// blocks a burst in cliser serve (192 B a handshake, issue 17, session
// 12). The idle writer lets go of them all (spares.go).
const maxSpareBurst = logChunk / blockSize

// release takes back blocks the writer has written, keeping up to
// maxSpareBurst.
func (q *queue) release(blocks [][]queued) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, b := range blocks {
		clear(b) // their strings are the registry's or garbage: do not keep them
		if len(q.spare) < maxSpareBurst && cap(b) == blockSize {
			q.spare = append(q.spare, b[:0])
		}
		blocks[i] = nil
	}
}

// spareBytes is what the spare blocks take.
func (q *queue) spareBytes() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.spare) * blockBytes
}

// dropSpares lets go of the spare blocks.
func (q *queue) dropSpares() {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.spare)
	q.spare = q.spare[:0]
}

// written counts blocks the writer stored in cliser_events_total and
// takes them back: by the writer, once a commit, not by the loops at
// each push under the registry's lock, on a line both write (issue 17);
// at the commit, not the take, so that a failing store's events are in
// cliser_events_queued alone (an audit saw them in both).
func (q *queue) written(blocks [][]queued) {
	q.m.countBlocks(blocks)
	q.mu.Lock()
	q.writing = 0
	q.mu.Unlock()
	q.release(blocks)
}

// putBackBlocks returns blocks the writer could not store to the front of
// the queue, so that order holds on the retry.
func (q *queue) putBackBlocks(blocks [][]queued) {
	q.mu.Lock()
	defer q.mu.Unlock()
	front := make([][]queued, 0, len(blocks)+len(q.blocks))
	for _, b := range blocks {
		front = append(front, b)
		q.n += len(b)
	}
	q.writing = 0
	q.blocks = append(front, q.blocks...)
	clear(blocks)
}

// putBack returns a batch the writer could not store to the front of the
// queue, so that order holds on the retry.
func (q *queue) putBack(batch []Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	front := make([][]queued, 0, len(batch)/blockSize+1+len(q.blocks))
	for len(batch) > 0 {
		n := min(len(batch), blockSize)
		b := make([]queued, 0, blockSize)
		for i := range batch[:n] {
			b = append(b, queuedOf(&batch[i]))
		}
		front = append(front, b)
		batch = batch[n:]
		q.n += n
	}
	q.writing = 0
	q.blocks = append(front, q.blocks...)
}

// published counts the events the stream stored in cliser_events_total:
// at the acknowledgment, as the single node's at the commit (written),
// so that a publish failing while NATS is away leaves its events in
// cliser_events_queued alone.
func (q *queue) published(batch []Event) {
	q.m.countEvents(batch)
	q.mu.Lock()
	q.writing = max(q.writing-len(batch), 0)
	q.mu.Unlock()
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// unwritten is cliser_events_queued: the events waiting for the writer,
// and those it is storing (counted once stored):
// with cliser_events_total and the dropped, every event emitted.
func (q *queue) unwritten() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n + q.writing
}

// close refuses further events; what is pending stays for the last drain.
func (q *queue) close() {
	q.mu.Lock()
	q.closedAt = time.Now()
	q.mu.Unlock()
	q.closeOnce.Do(func() { close(q.closing) })
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// notifier wakes Wait callers when the newest seq advances.
type notifier struct {
	newest atomic.Uint64
	mu     sync.Mutex
	ch     chan struct{} // closed and replaced at every advance
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

func (n *notifier) advance(seq uint64) {
	n.mu.Lock()
	if seq > n.newest.Load() {
		n.newest.Store(seq)
	}
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

// reset sets the newest seq to seq, lower or not (the cluster's stream
// made anew), and wakes the waiters.
func (n *notifier) reset(seq uint64) {
	n.mu.Lock()
	n.newest.Store(seq)
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

func (n *notifier) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.closedAt.IsZero()
}

func (q *queue) isDropping() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropping.Failing()
}

// closeGrace is how long a closed queue's writer keeps trying a store
// that fails before it gives the queued events up: a stop must end. A
// publish to a NATS that is away fails only when its acknowledgment is
// late (5 s), so counting tries kept a stop waiting ~28 s. It counts from
// the close or from the store's last write, whichever is later: a drain
// that took longer than closeGrace and then met one failed write (a
// leader election, a moment of I/O trouble) gave every event still
// queued up at once, with no retry at all.
const closeGrace = 3 * time.Second

// wrote notes that the writer just got events into the store.
func (q *queue) wrote() { q.wroteAt = time.Now() }

// abandon tells the writer of a closed queue that the stop is out of
// time: the next failed write gives the queued events up at once, and
// waits for none. Safe to call more than once, from any goroutine.
func (q *queue) abandon() { q.abandonOnce.Do(func() { close(q.abandoned) }) }

// isAbandoned: see abandon.
func (q *queue) isAbandoned() bool {
	select {
	case <-q.abandoned:
		return true
	default:
		return false
	}
}

// retryAfter is the writers' wait after a failed write: it sleeps
// *backoff (cut short by a close or an abandon) and doubles it up to 5s, or, once the queue is closed and the
// store has taken nothing for closeGrace since the close, or the wait has
// reached 2s, or the stop is out of time (abandon), logs that the queued
// events are given up and returns true.
func (q *queue) retryAfter(backoff *time.Duration, log *zap.Logger) (giveUp bool) {
	q.mu.Lock()
	closed, from := !q.closedAt.IsZero(), q.closedAt
	q.mu.Unlock()
	if q.wroteAt.After(from) {
		from = q.wroteAt
	}
	if closed && (q.isAbandoned() || *backoff >= 2*time.Second || time.Since(from) >= closeGrace) {
		n := q.len()
		q.givenUp.Store(int64(n))
		// A warning: what becomes of them (kept in a spill file, or lost:
		// the close's error) is said next, by the close.
		log.Warn("events: writes still fail at close; the writer stops with events queued", zap.Int("events", n))
		return true
	}
	wait := time.NewTimer(*backoff)
	defer wait.Stop()
	// A close ends a wait begun before it (the next try then counts the
	// close's grace), and an abandon any: a wait of up to 5 s begun before
	// a stop held it, a second signal too, for that long (signals audit).
	var closing <-chan struct{}
	if !closed {
		closing = q.closing
	}
	select {
	case <-wait.C:
	case <-closing:
	case <-q.abandoned:
	}
	*backoff = min(*backoff*2, 5*time.Second)
	return false
}

// closeWithin runs close, the log's or the stream's, with q abandoned once
// ctx ends: a stop that is out of time (--shutdown-timeout), or cut short
// by a second signal, does not wait out closeGrace or a late
// acknowledgment for events it cannot write.
func closeWithin(ctx context.Context, q *queue, close func() error) error {
	defer context.AfterFunc(ctx, q.abandon)()
	return close()
}
