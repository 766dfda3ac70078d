package events

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/boltcheck"
	"github.com/cliser/cliser/internal/boltkeep"
	"github.com/cliser/cliser/internal/jsonenc"
	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/internal/mono"
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
	keyGapTo     = []byte("gap-to") // seqs up to it are not all kept: an older events.db put back (floor.go)
)

// logPageSize is the page size of a new log file (one made by an earlier
// build keeps its 4 KiB: bbolt reads the size from the file). bbolt writes
// a commit one pwrite a page, and a block is a quarter page (block.go): at
// 16 KiB a burst's commits made a quarter of the pwrites (81 → 23 per
// 1,000 events) and, blocks being half a page then, of the Puts; the writer took ~15% fewer CPU
// samples in a steady stream; after an idle, bbolt's fresh 16 KiB
// buffers take back part of it in page faults
// (docs/performance-journal.md, "Session 20: the event log's commits").
const logPageSize = 16 << 10

// writeChunk is the most events one transaction writes or deletes, so that
// a storm's backlog or a retention pass never holds one huge transaction.
const writeChunk = 8192

// Log is the single-node event log: a bbolt file in the data dir, written
// by one goroutine behind the hot path. Append is safe to call from any
// goroutine (event loops included: it never waits on the disk); Close is
// called once; every other method is safe for concurrent use.
type Log struct {
	opts options
	path string
	// db is swapped by the writer, or Close, when its file is put back
	// (keepPlaced), under dbMu; readers hold dbMu shared.
	db      *bolt.DB
	dbMu    sync.RWMutex
	keep    *boltkeep.Keeper
	lost    prometheus.Counter
	checked time.Time    // the writer's: when it last checked the file
	check   *time.Ticker // wakes the idle writer to check
	q       *queue
	m       *metrics
	n       *notifier
	idx     *cidIndex

	oldest     atomic.Uint64   // the oldest seq kept; 0 while empty
	failing    atomic.Bool     // the last write failed
	damageSaid atomic.Bool     // an event that did not read back is logged (damaged)
	writeStart atomic.Int64    // when the write in flight began (mono.Now); 0 when none is
	trimFault  loggate.Episode // the writer's: trims failing (trim.go)
	fault      atomic.Value    // string: why the writes fail and since when, for /readyz
	done       chan struct{}
	urge       chan struct{} // capacity 1: a Stored call or Close cuts the writer's pace short
	paceTimer  *time.Timer   // the writer's (pace), made at its first pace
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
	floor      seqFloor           // the writer's, after Open: seqs never go back (floor.go)
	anew       struct {           // set at Open, read-only after: BegunAnew
		after uint64
		exact bool
	}
	gapTo uint64 // set at Open, read-only after: readers after less are answered 410 (floor.go)
	// stored counts the queue's events the writer committed (Stored).
	stored storedMark
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
	db, err := openFile(path)
	if errors.Is(err, boltcheck.ErrDamaged) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("events: %w", boltcheck.Named(path, err))
	}
	lost := prom.Counter(MetricStoreLost, "Times the event log's file was found removed from the data dir (or replaced) while open; "+
		"it is then written back from the open database.")
	keep, err := boltkeep.New(path, "event log", "events", o.log, lost)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	l := &Log{opts: o, path: path, db: db, keep: keep, lost: lost, checked: time.Now(), check: time.NewTicker(o.checkEvery), m: newMetrics(), n: newNotifier(), idx: newCIDIndex(o.indexSlots), done: make(chan struct{}), urge: make(chan struct{}, 1),
		blockMax: blockMax(db.Info().PageSize), ids: newIDWriter(idPrefix()),
		perEvent: 300} // about a disconnect's, until a transaction says: 0 made the first one's chunks 4 KiB
	l.q = newQueue(o.queueLimit, l.m, o.log)
	l.q.afterTake = o.afterTake
	l.floor.path = floorPath(path)
	var floorErr error
	l.floor.floor, l.floor.exact, floorErr = readFloor(l.floor.path)
	// The load reads every stored event (the index): a damaged page made
	// bbolt panic here, with a Go stack, rather than refuse the file.
	if err := boltcheck.Guard(func() error { return l.load(floorErr) }); err != nil {
		_ = boltcheck.Guard(db.Close)
		_ = keep.Close()
		l.check.Stop()
		// An event that does not read (its page whole) is as damaged a
		// file: the refusal names it and says what to do.
		if errors.Is(err, boltcheck.ErrPanicked) || errors.Is(err, ErrCorrupt) {
			return nil, refusal(path, err)
		}
		return nil, err
	}
	// Where the floor file is behind (none yet, or one a restore put
	// back), it is moved now; should that fail, the first commit tries
	// again and says so.
	_ = l.floor.cover(l.n.newest.Load(), l.n.newest.Load())
	go l.run()
	return l, nil
}

// openFile opens the log's file at path: at Open and when it is put back.
func openFile(path string) (*bolt.DB, error) {
	// A map of 256 MiB of address space (not memory) from the start: bbolt
	// remaps as the file grows, and each remap copies out every node the
	// writer's transaction holds (an eighth of its CPU in BenchmarkLogAppend).
	return boltcheck.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, InitialMmapSize: 1 << 28, PageSize: logPageSize}, false,
		func(cause error) error { return refusal(path, cause) })
}

func refusal(path string, cause error) error {
	return fmt.Errorf("events: %w", boltcheck.Refusal(boltcheck.ErrDamaged, path, cause, "an empty event log, whose seqs go on after the newest this one gave (events.seq)"))
}

// keepPlaced puts the log's file back when it left its path (the data dir
// deleted, a tmp cleaner): bbolt went on committing into a file no
// restart reads. Called by the writer, at most every checkEvery unless
// now, and by Close once the writer is done: nothing commits meanwhile,
// and readers are held off (dbMu) while db is swapped for the file put
// back, with every event written since.
func (l *Log) keepPlaced(now bool) {
	if !now && time.Since(l.checked) < l.opts.checkEvery {
		return
	}
	l.checked = time.Now()
	_ = l.keep.Cut() // said (log, /readyz) though nothing is written
	if l.keep.Check() {
		l.restore(now)
	}
	l.floor.keep(l.opts.log)
}

// restore swaps db for the file put back at its path; readers are held
// off meanwhile.
func (l *Log) restore(now bool) {
	l.dbMu.Lock()
	defer l.dbMu.Unlock()
	if now {
		l.db = l.keep.RestoreNow(l.db, openFile)
		return
	}
	l.db = l.keep.Restore(l.db, openFile)
}

// update is db.Update unless the file was cut under the server
// (boltkeep's Cut: the transaction would fault the process), and notes
// the file's growth.
func (l *Log) update(fn func(*bolt.Tx) error) error {
	if err := l.keep.Cut(); err != nil {
		return err
	}
	err := l.db.Update(fn)
	l.keep.Grown()
	return err
}

// view is db.View unless the file was cut under the server (update).
func (l *Log) view(fn func(*bolt.Tx) error) error {
	if err := l.keep.Cut(); err != nil {
		return err
	}
	return l.db.View(fn)
}

// releaseMappedDue lets go of the map's pages when due (mapped), unless
// the file was cut (a read transaction reads its meta page).
func (l *Log) releaseMappedDue() {
	if l.keep.Cut() == nil {
		l.mapped.releaseDue(l.db)
	}
}

// load makes the buckets, reads the newest and oldest seq and builds the
// index by client ID. A log begun anew goes on after the floor file's
// seq (floor.go); floorErr, the floor file's damage, stops only such a
// log, which could not tell where to go on.
func (l *Log) load(floorErr error) error {
	return l.update(func(tx *bolt.Tx) error {
		_ = tx.DeleteBucket([]byte("by-cid")) // an earlier build's index on disk
		for _, b := range [][]byte{bucketEvents, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("events: bucket %s: %w", b, err)
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keyNewest); len(v) == 8 {
			l.n.newest.Store(binary.BigEndian.Uint64(v))
		}
		if v := tx.Bucket(bucketMeta).Get(keyGapTo); len(v) == 8 {
			l.gapTo = binary.BigEndian.Uint64(v)
		}
		if err := l.goOnAfterFloor(tx, floorErr); err != nil {
			return err
		}
		l.storeBytes.Store(tx.Size())
		evs := tx.Bucket(bucketEvents)
		k, _ := evs.Cursor().First()
		if len(k) != 8 {
			if newest := l.n.newest.Load(); newest > 0 {
				l.oldest.Store(newest + 1) // none kept: a reader after less is answered 410
			}
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
// Events it could not write (the disk full or failing for the last
// seconds) are an error: they are lost, and a stop that loses them is
// not a clean one. Safe to call once.
//
// A file that left its path since the writer last looked is put back
// first; one that cannot be is an error too.
func (l *Log) Close() error { return l.CloseWithin(context.Background()) }

// CloseWithin is Close bounded by ctx: once it ends, a write that fails
// gives the queued events up at once (they are an error, as at Close).
func (l *Log) CloseWithin(ctx context.Context) error { return closeWithin(ctx, l.q, l.close) }

func (l *Log) close() error {
	l.q.close()
	l.urgeWriter() // what is queued is written now, not after the pace
	<-l.done
	l.check.Stop()
	var lost error
	if n := l.q.givenUp.Load(); n > 0 {
		fault, _ := l.fault.Load().(string)
		lost = fmt.Errorf("events: %d queued events were not written to %s at close, and are lost (writes failing %s)", n, l.path, fault)
	}
	l.keepPlaced(true)
	l.floor.settle(l.n.newest.Load(), l.opts.log)
	return errors.Join(lost, l.keep.Healthy(), l.db.Close(), l.keep.Close())
}

// Newest is the newest seq (0 for an empty log). Safe for concurrent use.
func (l *Log) Newest() uint64 { return l.n.newest.Load() }

// Oldest is the oldest seq kept (0 for an empty log), from which every
// seq is kept: past the gap an older events.db put back left, whose
// events only a client's history still reads (floor.go).
func (l *Log) Oldest() uint64 {
	oldest := l.oldest.Load()
	if l.gapTo > 0 && oldest <= l.gapTo {
		return l.gapTo + 1
	}
	return oldest
}

// Healthy is nil unless the last write failed or events were dropped
// since the writer last caught up: for /readyz and the logs.
func (l *Log) Healthy() error {
	if err := l.keep.Healthy(); err != nil {
		return err
	}
	switch {
	case l.failing.Load():
		fault, _ := l.fault.Load().(string)
		return fmt.Errorf("event log: writes to %s are failing %s; %d events wait in memory (none lost unless cliser_events_dropped_total grows)",
			l.path, fault, l.q.len())
	case l.q.isDropping():
		return fmt.Errorf("event log: queue full, events dropped (%d so far)", l.q.dropped.Load())
	}
	if at := l.writeStart.Load(); at != 0 {
		if d := mono.Since(at); d >= writeStall {
			return fmt.Errorf("event log: a write to %s has not returned since %s (%s); %d events wait in memory: the data dir's disk does not answer",
				l.path, mono.Time(at).UTC().Format(time.RFC3339), d.Round(time.Second), l.q.len())
		}
	}
	return nil
}

// writeStall is how long a write may go without returning before /readyz
// says the log's disk does not answer (a frozen file system, a hung
// mount): such a write fails nothing, and the events waited without a
// word (the registry's store says the same after as long).
const writeStall = 10 * time.Second

// Collectors are the log's metrics, to register on the admin API's
// Prometheus registry.
func (l *Log) Collectors() []prometheus.Collector {
	return append(l.m.collectors(l.q, l.n.newest.Load), l.lost,
		prom.GaugeFunc(MetricRetainedBytes, "Bytes of the event log's file in use: bbolt's pages up to the highest in use (the file is grown ahead of it, so ls shows more).", func() float64 { return float64(l.storeBytes.Load()) }))
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}
