package events

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/jsonenc"
	"github.com/cliser/cliser/internal/prom"
)

// FileName is the single-node log's file in the data dir.
//
// Its own file, not a bucket of the registry's: bbolt has one writer per
// file, and the registry rewrites every connected record at each
// checkpoint; in one file a checkpoint and a reconnect storm's events would
// queue behind each other. Apart, each can also be backed up, inspected or
// deleted on its own.
const FileName = "events.db"

// Buckets of the log's file. Keys of "events" are the seq of a block's
// first event, 8 bytes big endian, so bbolt's key order is the log's
// order; values are blocks of events' JSON, one a line (see block.go;
// readable with `bbolt get`, and additive like the registry's). The index
// by client ID is in memory (see cidIndex).
var (
	bucketEvents = []byte("events")
	bucketMeta   = []byte("meta")
	keyNewest    = []byte("newest") // the newest seq ever written: seq never goes back, even past deletions
)

// logPageSize is the page size of a new log file (one made by an earlier
// build keeps its 4 KiB: bbolt reads the size from the file). bbolt writes
// a commit one pwrite a page, and a block is half a page (block.go): at
// 16 KiB a burst's commits made a quarter of the pwrites (81 → 23 per
// 1,000 events) and of the Puts, and the writer took ~15% fewer CPU
// samples in a steady stream; after an idle, bbolt's fresh 16 KiB
// buffers take back part of it in page faults (docs/performance.md,
// "Session 20: the event log's commits").
const logPageSize = 16 << 10

// writeChunk is the most events one transaction writes or deletes, so that
// a storm's backlog or a retention pass never holds one huge transaction.
const writeChunk = 8192

// logChunk is the most events one transaction of the log writes: the
// writer keeps the transaction's arena for the next until the log is idle,
// so a storm's backlog written 8,192 at a time kept ~2.4 MB.
const logChunk = 2048

// commitEvery paces the writer's transactions while events keep coming:
// each commit is two fdatasyncs and a meta page whatever it holds, and a
// storm taken as it trickles in was hundreds of commits of a few events.
// An event that finds the writer idle is written at once; under load the
// writer gathers for at most this long (what a long-poll or a stream may
// then wait), so a storm is a few dozen commits of hundreds of events.
// A commit costs ~1 ms of CPU beyond its events' pages (the syncs, the
// meta and freelist pages, the newest leaf and its branches written
// again): at 50 ms that was ~1.4 µs an event of a burst's 14,000 a
// second, and at 100 ms it is half (BenchmarkLogAppendPaced, issue 17).
// It stays well inside the webhook's linger (200 ms by default).
const commitEvery = 100 * time.Millisecond

// Log is the single-node event log: a bbolt file in the data dir, written
// by one goroutine behind the hot path. Append is safe to call from any
// goroutine (event loops included: it never waits on the disk); the Reader
// methods are safe for concurrent use.
type Log struct {
	opts options
	db   *bolt.DB
	q    *queue
	m    *metrics
	n    *notifier
	idx  *cidIndex

	oldest     atomic.Uint64 // the oldest seq kept; 0 while empty
	failing    atomic.Bool   // the last write failed
	fault      atomic.Value  // string: why the writes fail and since when, for /readyz
	done       chan struct{}
	storeBytes atomic.Int64
	arena      arena              // the writer's: keys and values of one transaction
	offs       []int              // the writer's: each event's JSON in arena, start and end
	ids        idWriter           // the writer's: the IDs of events queued without one
	times      jsonenc.TimeWriter // the writer's: the date of the last time it encoded
	perEvent   int                // arena bytes per event of the last transaction, to size its chunks
	blocks     [][]queued         // the writer's: what it took from the queue
	blockMax   int                // see blockMax
	recent     recent             // the newest events' JSON, for ReadRaw
	mapped     mapped             // the file's pages read through the map, let go of in time
	spares     spares             // lets go of the reuse buffers once the log is idle
	spareHeld  atomic.Int64       // spareBytes after the writer's last commit or release, for tests
}

var (
	_ Reader    = (*Log)(nil)
	_ RawReader = (*Log)(nil)
)

// Open opens (or makes) the log file at path and starts its writer.
func Open(path string, opts ...Option) (*Log, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	// A map of 256 MiB of address space (not memory) from the start: bbolt
	// remaps as the file grows, and each remap copies out every node the
	// writer's transaction holds (an eighth of its CPU in BenchmarkLogAppend).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, InitialMmapSize: 1 << 28, PageSize: logPageSize})
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", path, err)
	}
	l := &Log{opts: o, db: db, m: newMetrics(), n: newNotifier(), idx: newCIDIndex(o.indexSlots), done: make(chan struct{}),
		blockMax: blockMax(db.Info().PageSize), ids: newIDWriter(idPrefix()),
		perEvent: 300} // about a disconnect's, until a transaction says: 0 made the first one's chunks 4 KiB
	l.q = newQueue(o.queueLimit, l.m, o.log)
	if err := l.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// load makes the buckets, reads the newest and oldest seq and builds the
// index by client ID.
func (l *Log) load() error {
	return l.db.Update(func(tx *bolt.Tx) error {
		_ = tx.DeleteBucket([]byte("by-cid")) // an earlier build's index on disk
		for _, b := range [][]byte{bucketEvents, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("events: bucket %s: %w", b, err)
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keyNewest); len(v) == 8 {
			l.n.newest.Store(binary.BigEndian.Uint64(v))
		}
		l.storeBytes.Store(tx.Size())
		evs := tx.Bucket(bucketEvents)
		k, _ := evs.Cursor().First()
		if len(k) != 8 {
			return nil // empty
		}
		oldest := max(binary.BigEndian.Uint64(k), l.retainedFrom(l.n.newest.Load()))
		l.oldest.Store(oldest)
		return forEachFrom(evs, oldest, func(seq uint64, js []byte) bool {
			l.idx.add(cidOf(js), seq)
			return true
		})
	})
}

// retainedFrom is the oldest seq the retention keeps when newest is the
// newest. Blocks are deleted whole, so the file may still hold a few
// older events, in the block that holds this one: none is ever read.
func (l *Log) retainedFrom(newest uint64) uint64 {
	if r := uint64(l.opts.retention); newest > r {
		return newest - r + 1
	}
	return 1
}

// Append queues ev for the log. It never blocks: the writer assigns seq
// and stores it; when its queue is full the event is dropped and counted
// (see queue). The event gets an id and a time when it has none. It
// reports whether the event was queued.
func (l *Log) Append(ev Event) bool {
	if ev.Time.IsZero() {
		ev.Time = l.opts.now()
	}
	return l.q.push(ev)
}

// Close stops taking events, writes what is queued and closes the file.
// Safe to call once.
func (l *Log) Close() error {
	l.q.close()
	<-l.done
	return l.db.Close()
}

// Newest is the newest seq (0 for an empty log). Safe for concurrent use.
func (l *Log) Newest() uint64 { return l.n.newest.Load() }

// Oldest is the oldest seq kept (0 for an empty log).
func (l *Log) Oldest() uint64 { return l.oldest.Load() }

// Healthy is nil unless the last write failed or events were dropped
// since the writer last caught up: for /readyz and the logs.
func (l *Log) Healthy() error {
	switch {
	case l.failing.Load():
		fault, _ := l.fault.Load().(string)
		return fmt.Errorf("event log: writes to %s are failing %s; %d events wait in memory (none lost unless cliser_events_dropped_total grows)",
			l.db.Path(), fault, l.q.len())
	case l.q.isDropping():
		return fmt.Errorf("event log: queue full, events dropped (%d so far)", l.q.dropped.Load())
	}
	return nil
}

// Wait returns nil once an event with Seq > after exists, or ctx's error.
func (l *Log) Wait(ctx context.Context, after uint64) error {
	return waitFor(ctx, l.n, after)
}

func waitFor(ctx context.Context, n *notifier, after uint64) error {
	for {
		ch := n.changed()
		if n.newest.Load() > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Read returns up to limit events with Seq > after, oldest first, or a
// *GoneError when after+1 is below the oldest seq kept.
func (l *Log) Read(ctx context.Context, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Event
	err := l.scan(ctx, after, limit, func(seq uint64, js []byte) error {
		ev, err := decodeEvent(seq, js)
		out = append(out, ev)
		return err
	})
	return out, err
}

// scan calls f with up to limit events with Seq > after, oldest first, in
// a read transaction (js is bbolt's: valid only during the call), or
// returns a *GoneError when after+1 is below the oldest seq kept.
func (l *Log) scan(ctx context.Context, after uint64, limit int, f func(seq uint64, js []byte) error) error {
	// An event is visible once Newest says so, not when its transaction
	// commits a moment before: a reader that saw it could otherwise ask
	// for "only new events" and still be sent it.
	newest := l.n.newest.Load()
	if oldest := l.oldest.Load(); oldest > 0 && after+1 < oldest {
		return &GoneError{Oldest: oldest}
	}
	if after >= newest {
		return nil
	}
	defer l.readMapped() // a reader far behind reads the whole file through the map
	return l.db.View(func(tx *bolt.Tx) error {
		var ferr error
		err := forEachFrom(tx.Bucket(bucketEvents), after+1, func(seq uint64, js []byte) bool {
			if limit == 0 || seq > newest {
				return false
			}
			limit--
			ferr = f(seq, js)
			return ferr == nil
		})
		if err != nil {
			return err
		}
		if ferr != nil {
			return ferr
		}
		return ctx.Err()
	})
}

// readMapped marks the map read by a reader and wakes the idle writer,
// which lets go of the pages in time (see mapped).
func (l *Log) readMapped() {
	if l.mapped.touched() {
		select {
		case l.q.wake <- struct{}{}:
		default:
		}
	}
}

// ReadRaw is Read without decoding: each event's stored JSON, copied into
// one buffer for the whole answer, from memory while the events are among
// the newest (see recent), else out of a read transaction.
func (l *Log) ReadRaw(ctx context.Context, after uint64, limit int) ([]Raw, error) {
	out, _, err := l.AppendRaw(ctx, nil, nil, after, limit)
	return out, err
}

// AppendRaw implements RawReader.
func (l *Log) AppendRaw(ctx context.Context, out []Raw, buf []byte, after uint64, limit int) ([]Raw, []byte, error) {
	if limit <= 0 {
		return out, buf, nil
	}
	newest := l.n.newest.Load() // see scan
	if oldest := l.oldest.Load(); oldest > 0 && after+1 < oldest {
		return out, buf, &GoneError{Oldest: oldest}
	}
	if out, buf, ok := l.recent.read(out, buf, after, newest, limit); ok {
		return out, buf, ctx.Err()
	}
	err := l.scan(ctx, after, limit, func(seq uint64, js []byte) error {
		out, buf = appendRaw(out, buf, seq, js)
		return nil
	})
	return out, buf, err
}

// appendRaw adds the event seq, its JSON copied to the end of buf.
func appendRaw(out []Raw, buf []byte, seq uint64, js []byte) ([]Raw, []byte) {
	buf = append(buf, js...)
	return append(out, Raw{Seq: seq, JSON: buf[len(buf)-len(js) : len(buf) : len(buf)]}), buf
}

// ReadCID is Read for the events of one client, from the index by cid.
func (l *Log) ReadCID(ctx context.Context, cid string, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	if oldest := l.oldest.Load(); oldest > 0 && after+1 < oldest {
		return nil, &GoneError{Oldest: oldest}
	}
	seqs, _ := l.idx.chain(cid, 0, after, math.MaxInt)
	slices.Reverse(seqs)
	return l.get(ctx, cid, seqs, limit)
}

// LatestCID returns up to limit events of cid, newest first, from the
// index: a chunk of its slot's chain at a time, until limit are cid's.
func (l *Log) LatestCID(ctx context.Context, cid string, limit int) ([]Event, error) {
	var out []Event
	for from := uint64(0); len(out) < limit; {
		seqs, next := l.idx.chain(cid, from, 0, limit-len(out))
		evs, err := l.get(ctx, cid, seqs, limit-len(out))
		out = append(out, evs...)
		if err != nil || next == 0 {
			return out, err
		}
		from = next
	}
	return out, nil
}

// get reads the events of seqs, in that order, that are cid's (the index
// gives other clients' too), up to limit; one deleted meanwhile by the
// retention is left out.
func (l *Log) get(ctx context.Context, cid string, seqs []uint64, limit int) ([]Event, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	newest, oldest := l.n.newest.Load(), l.oldest.Load() // see scan
	var out []Event
	err := l.db.View(func(tx *bolt.Tx) error {
		evs := tx.Bucket(bucketEvents)
		for _, seq := range seqs {
			if len(out) == limit {
				break
			}
			if seq > newest || seq < oldest {
				continue
			}
			_, k, v := seekBlock(evs, seq)
			var derr error
			if _, err := blockEach(k, v, seq, seq, func(seq uint64, js []byte) bool {
				var ev Event
				if ev, derr = decodeEvent(seq, js); derr == nil && ev.CID == cid {
					out = append(out, ev)
				}
				return false
			}); err != nil && k != nil {
				return err
			}
			if derr != nil {
				return derr
			}
		}
		return ctx.Err()
	})
	return out, err
}

// History is cid's last sessions, newest first, built from its events.
func (l *Log) History(ctx context.Context, cid string, limit int) ([]Session, error) {
	return history(ctx, l.LatestCID, cid, limit)
}

// run is the writer: it takes what is queued, writes it in one
// transaction per chunk, trims to the retention, and wakes the waiters.
func (l *Log) run() {
	defer close(l.done)
	var committed time.Time
	backoff := 100 * time.Millisecond
	for {
		if wait := commitEvery - time.Since(committed); wait > 0 && l.q.len() < logChunk && !l.q.isClosed() {
			time.Sleep(wait)
		}
		l.blocks = l.q.takeBlocks(l.blocks, logChunk)
		if len(l.blocks) > 0 {
			if err := l.write(l.blocks); err != nil {
				l.q.putBackBlocks(l.blocks)
				l.m.storeErrors.Inc()
				if !l.failing.Load() {
					l.fault.Store(fmt.Sprintf("since %s: %v", time.Now().UTC().Format(time.RFC3339), err))
					l.failing.Store(true)
					l.opts.log.Error("events: writing to the log failed; the events wait in memory and the write is retried",
						zap.Error(err), zap.Int("waiting", l.q.len()))
				}
				if l.q.retryAfter(&backoff, l.opts.log) {
					return
				}
				continue
			}
			if l.failing.Swap(false) {
				l.opts.log.Info("events: writes to the log work again; the waiting events are written",
					zap.Uint64("newest_seq", l.n.newest.Load()), zap.Uint64("dropped_so_far", l.q.dropped.Load()))
			}
			l.q.release(l.blocks)
			backoff = 100 * time.Millisecond
			committed = time.Now()
			l.trim()
			l.mapped.touched()
			l.mapped.releaseDue(l.db)
			l.spareHeld.Store(int64(l.spareBytes()))
			continue // more may have come meanwhile
		}
		if l.q.isClosed() {
			return
		}
		select {
		case <-l.q.wake:
		case <-l.mapped.due():
			l.mapped.releaseDue(l.db)
		case <-l.spares.due(l.spareHeld.Load() > 0, committed):
			if time.Since(committed) >= spareIdle {
				l.dropSpares()
			}
		}
	}
}

// write stores the events of blocks (at most logChunk) in one
// transaction, giving each event the next seq; consecutive events share a
// bbolt value (see block.go). On error nothing is kept, to be tried
// again (a queued event holds no seq).
func (l *Log) write(blocks [][]queued) error {
	n := 0
	for _, b := range blocks {
		n += len(b)
	}
	first := l.n.newest.Load() + 1
	next := first - 1
	offs := l.offs[:0]
	if cap(offs) < 2*n {
		offs = make([]int, 0, 2*roundUp(n, logChunk/8))
	}
	trimmed := uint64(0) // the new oldest, when this transaction trimmed
	err := l.db.Update(func(tx *bolt.Tx) error {
		evs := tx.Bucket(bucketEvents)
		// Seqs only grow: pages filled to the brim, not split in half as
		// for random keys (half the file, fewer splits).
		evs.FillPercent = 1.0
		// bbolt keeps the key and value slices until the commit: the
		// arena's chunks hold them all, reused by the next transaction.
		arena := l.arena.next(n * l.perEvent)
		k0, v0 := -1, 0 // the open block's key and value in arena
		put := func() error {
			if k0 < 0 {
				return nil
			}
			// A chunk that grew moved: the slices put before stay valid
			// in the old array, this one points into the new.
			err := evs.Put(arena[k0:v0:v0], arena[v0:len(arena):len(arena)])
			k0 = -1
			return err
		}
		written, done := 0, 0 // bytes of the chunks closed, events encoded
		for _, b := range blocks {
			for i := range b {
				if cap(arena)-len(arena) < arenaRoom {
					// The chunk is full: its open block ends here.
					if err := put(); err != nil {
						return err
					}
					l.arena.close(arena, len(offs))
					written += len(arena)
					arena = l.arena.next((n - done) * l.perEvent)
				}
				next++
				done++
				ev := b[i].event()
				ev.Seq = next
				nl := -1 // where the '\n' before this event is
				if k0 < 0 {
					k0 = len(arena)
					arena = binary.BigEndian.AppendUint64(arena, next)
					v0 = len(arena)
				} else {
					nl = len(arena)
					arena = append(arena, '\n')
				}
				s0 := len(arena)
				var err error
				if arena, err = appendJSON(arena, &ev, &l.ids, &l.times); err != nil {
					return fmt.Errorf("events: seq %d: %w", next, err)
				}
				if nl >= 0 && len(arena)-v0 > l.blockMax {
					// Too large with this event: the block ends before
					// it, and it starts the next one (its key where the
					// newline was).
					end := len(arena)
					arena = arena[:nl]
					if err := put(); err != nil {
						return err
					}
					arena = slices.Grow(arena[:end], 7)[:end+7]
					copy(arena[s0+7:], arena[s0:end])
					binary.BigEndian.PutUint64(arena[nl:], next)
					k0, v0, s0 = nl, nl+8, s0+7
				}
				offs = append(offs, s0, len(arena))
			}
		}
		if err := put(); err != nil {
			return err
		}
		l.arena.close(arena, len(offs))
		l.perEvent = (written+len(arena))/n + 1
		// What the retention lets go of goes in this transaction: in one
		// of its own it was as many commits again, each two fdatasyncs and
		// its pages, once the log held its retention. One that fails here
		// is left to trim, which reports it.
		if upTo := l.trimTarget(next); upTo > 0 && deleteBefore(evs, upTo) == nil {
			trimmed = upTo
		}
		l.storeBytes.Store(tx.Size())
		return tx.Bucket(bucketMeta).Put(keyNewest, seqKey(next))
	})
	if err != nil {
		l.arena.release()
		return err
	}
	seq := first
	for _, b := range blocks {
		l.idx.addBlock(b, seq)
		seq += uint64(len(b))
	}
	// Committed: bbolt holds the chunks no more; recent copies the events
	// out and the writer keeps them for the next transaction.
	o0 := 0
	for _, u := range l.arena.used {
		l.recent.add(first+uint64(o0/2), u.buf, offs[o0:u.offs])
		o0 = u.offs
	}
	l.arena.release()
	l.offs = offs
	if l.oldest.Load() == 0 {
		l.oldest.Store(first)
	}
	if trimmed > 0 {
		l.oldest.Store(trimmed)
		l.idx.drop(trimmed)
	}
	l.n.advance(next)
	return nil
}

// roundUp is n itself below small, else the next power of two: a
// trickle's one-event transactions do not take a burst's sizes.
func roundUp(n, small int) int {
	if n < small {
		return n
	}
	size := small
	for size < n {
		size <<= 1
	}
	return size
}

// trim forgets the oldest events beyond the retention, at most a chunk
// per transaction, with their index entries, and deletes the blocks that
// hold only such events. The writer's transactions trim as they go (see
// write): this is for the rest, beyond a chunk past the oldest (a first
// transaction, a retention lowered at a reopen) and a trim that failed
// there.
func (l *Log) trim() {
	for {
		upTo := l.trimTarget(l.n.newest.Load())
		if upTo == 0 {
			return
		}
		err := l.db.Update(func(tx *bolt.Tx) error {
			if err := deleteBefore(tx.Bucket(bucketEvents), upTo); err != nil {
				return err
			}
			l.storeBytes.Store(tx.Size())
			return nil
		})
		if err != nil {
			l.m.storeErrors.Inc()
			l.opts.log.Error("events: deleting events past the retention failed; retrying with the next batch", zap.Error(err))
			return
		}
		l.oldest.Store(upTo)
		l.idx.drop(upTo)
	}
}

// trimTarget is the new oldest seq once newest is the newest, at most a
// chunk past the oldest kept: 0 when the retention lets go of nothing.
func (l *Log) trimTarget(newest uint64) uint64 {
	oldest, target := l.oldest.Load(), l.retainedFrom(newest)
	if oldest == 0 || target <= oldest {
		return 0
	}
	return min(target, oldest+writeChunk)
}

// deleteBefore deletes the blocks of evs that hold only events before
// upTo, oldest first. On an error the blocks deleted so far stay deleted
// in the transaction: they hold only such events.
func deleteBefore(evs *bolt.Bucket, upTo uint64) error {
	c := evs.Cursor()
	for k, v := c.First(); k != nil && len(k) == 8 && blockLast(k, v) < upTo; k, v = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Collectors are the log's metrics, to register on the admin API's
// Prometheus registry.
func (l *Log) Collectors() []prometheus.Collector {
	return append(l.m.collectors(l.q, l.n.newest.Load),
		prom.GaugeFunc(MetricRetainedBytes, "Size of the event log's file.", func() float64 { return float64(l.storeBytes.Load()) }))
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// decodeEvent reads the event seq, stored as js. Errors wrap ErrCorrupt.
func decodeEvent(seq uint64, js []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(js, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: event %d: %w", ErrCorrupt, seq, err)
	}
	if ev.Seq != seq {
		return Event{}, fmt.Errorf("%w: event %d holds seq %d", ErrCorrupt, seq, ev.Seq)
	}
	return ev, nil
}
