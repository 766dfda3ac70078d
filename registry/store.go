package registry

import (
	"context"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Store keeps records across restarts. The registry calls it only from Load
// and from its flusher, never on the hot path and never under its lock, one
// call at a time.
type Store interface {
	// Load returns every stored record.
	Load() ([]Record, error)
	// Save writes a batch of records (insert or replace, keyed by CID) and
	// deletes the cids in gone, in one durable transaction. It applies the
	// deletes first: a cid pruned and registered again before a flush is
	// in both, and its new record must stay. It must not keep put once it
	// returns: the registry reuses the slice for the next flush.
	Save(put []Record, gone []string) error
	// Close releases the store.
	Close() error
}

// AdvisingStore is a Store that says what an operator should fix when
// its writes fail; the write-behind's warning carries it ("fix").
type AdvisingStore interface {
	Store
	WhatToFix() string
}

// CopyingStore is a Store whose Save keeps nothing of put, not even its
// records' strings, once it returns (the log store encodes them), and
// bounds its own memory whatever the batch. The registry then gives the
// records' ports and session names from a buffer that the next take
// overwrites, where for another Store they share one new string a take
// (batch_text.go), and gives it a whole take in one Save, not saveChunk
// records at a time: one durable write, so one fsync a take (issue 17,
// session 18).
type CopyingStore interface {
	Store
	// CopiesRecords only marks the promise.
	CopiesRecords()
}

// IdleStore is a Store with upkeep it would rather do when nothing is
// being written (the log store's compaction, and its check that its files
// are still in the data dir). Run calls Idle at every stretch of
// idleFlushes flushes in a row that have found nothing to write; an error
// is noted as a failed flush.
type IdleStore interface {
	Store
	Idle() error
}

// idleFlushes is how many flushes in a row with nothing to write make the
// store idle: a second at the default interval, longer than the lull
// between a burst's registrations and its closes.
const idleFlushes = 4

// Load fills the registry from its store. Every record comes back with
// cstatus=false: a record that was connected when the process stopped gets
// reason "server restarted" and disconnected_at from its last_seen. It
// returns the records it holds then: the store's and those of the event
// log's sessions the store never held (a kill -9's last flush). Call it
// once, before serving.
func (r *Registry) Load() (int, error) {
	if r.opts.store == nil {
		return 0, nil
	}
	recs, err := r.opts.store.Load()
	if err != nil {
		return 0, fmt.Errorf("registry: load: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ld := loading{names: newSessionNames(&r.names), cips: cipTexts{}, from: r.opts.logged.From}
	logged := r.opts.logged.Sessions
	r.opts.logged = LogTail{} // Load's alone, once
	for _, rec := range recs {
		lg, ok := logged[rec.CID]
		delete(logged, rec.CID)
		r.loadLocked(&ld, rec, true, lg, ok)
	}
	cutoff := r.opts.now().Add(-r.opts.retention)
	for _, lg := range logged { // sessions the store never held
		// One that ended before the retention was pruned from the store,
		// not lost by a kill -9: it stays pruned.
		if lg.Unread || lg.Ended && r.opts.retention > 0 && lg.Rec.DisconnectedAt.Before(cutoff) {
			continue
		}
		r.loadLocked(&ld, Record{}, false, lg, true)
		r.fromLog++
	}
	r.sids.resumeAfter(r.newestSIDLocked())
	return r.byCID.Len(), nil
}

// newestSIDLocked is the sid of the record that connected last: the last
// sid the previous run handed out, or near it. r.mu held.
func (r *Registry) newestSIDLocked() uint16 {
	var sid uint16
	var at int64
	r.byCID.Ascend(func(e *entry) bool {
		if e.sid != 0 && (sid == 0 || e.connectedAt > at) {
			sid, at = e.sid, e.connectedAt
		}
		return true
	})
	return sid
}

// loading is what every record of one Load shares.
type loading struct {
	names sessionNames
	cips  cipTexts
	from  time.Time // the log's tail begins (LogTail.From)
}

// loadLocked inserts the record weigh keeps, written back when it is not
// the stored one, and logs what lostOf and weigh say the log lacks: an
// older session's end and the record's connect, then its end. r.mu held.
func (r *Registry) loadLocked(ld *loading, stored Record, found bool, lg Logged, logged bool) {
	openEnd, connect := lostOf(stored, found, lg, logged, ld.from)
	if lg.Unread {
		logged = false
	}
	rec, out := weigh(stored, found, lg, logged)
	e := entryOf(rec, ld.names, ld.cips)
	r.insertLocked(e)
	if !found || rec != stored {
		r.markDirtyLocked(e)
	}
	if openEnd != nil {
		r.restarted++
		r.emitRecordLocked(ChangeDisconnected, *openEnd, openEnd.DisconnectedAt)
	}
	if connect {
		r.lostConnects++
		r.emitRecordLocked(ChangeConnected, asConnected(stored), stored.ConnectedAt)
		if out == keep && !rec.CStatus {
			out = storedEnd // its end is the store's, lost with its connect
		}
	}
	switch out {
	case restarted:
		r.restarted++
		r.emitLocked(ChangeDisconnected, e, e.disconnectedAt, "")
	case storedEnd:
		r.emitLocked(ChangeDisconnected, e, e.disconnectedAt, "")
	}
}

// FromLog is how many records Load made from the event log's sessions,
// the store lacking them (a kill -9's last flush, a registry file lost
// or emptied). Safe from any goroutine.
func (r *Registry) FromLog() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fromLog
}

// LostConnects is how many sessions of the store's records Load found
// the log had lost the connect of, and logged it. Safe from any
// goroutine.
func (r *Registry) LostConnects() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lostConnects
}

// Restarted is how many sessions Load found the store's records still
// holding, and so marked "server restarted": sessions this process's
// start ended. Safe from any goroutine.
func (r *Registry) Restarted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarted
}

// Run writes changes to the store every flush interval until ctx ends, then
// flushes once more. Over every checkpoint interval it also rewrites each
// connected record once (so last_seen on disk lags by about a checkpoint
// at most; Touch alone never costs a write) and prunes disconnected
// records past retention, a share of the records with each flush
// (checkpoint.go). At every idleFlushes flushes in a row that have found
// nothing to write, an IdleStore does its upkeep. It returns the last
// flush's error, if any.
func (r *Registry) Run(ctx context.Context) error {
	flush := time.NewTicker(r.opts.flushInterval)
	defer flush.Stop()
	sw := sweep{start: r.opts.now()}
	idle := 0 // flushes in a row that found nothing to write
	stop := make(chan struct{})
	defer close(stop) // after the last flush: a stop's stall is told too
	go r.watchStalls(stop)
	for {
		select {
		case <-ctx.Done():
			return r.lastFlush()
		case <-flush.C:
		}
		r.checkpointStep(&sw, r.opts.now())
		// A failed batch stays pending and goes with the next one;
		// noteFlush has logged and counted the failure.
		wrote, _ := r.flush()
		idle = r.idleStep(idle, wrote)
	}
}

// lastFlush is the flush of a stop. When it fails, what it could not
// write is gone with the process: the error says how much, as the event
// log's does, rather than only the store's error.
func (r *Registry) lastFlush() error {
	if err := r.Flush(); err != nil {
		return fmt.Errorf("registry: %d records not written to the store at close, and lost "+
			"(a restart will not have these changes): %w", r.pendingWrites(), err)
	}
	return nil
}

// idleStep counts the flushes that wrote nothing and tells an IdleStore
// at each stretch of idleFlushes; it returns the new count.
func (r *Registry) idleStep(idle int, wrote bool) int {
	if wrote {
		return 0
	}
	// Every stretch of idleFlushes, not only the first: the store also
	// checks then that its files are still in the data dir.
	if idle++; idle%idleFlushes != 0 {
		return idle
	}
	if s, ok := r.opts.store.(IdleStore); ok {
		if err := s.Idle(); err != nil {
			r.noteFlush(fmt.Errorf("registry: store upkeep: %w", err))
		}
		r.noteUpkeep()
	}
	return idle
}

// Flush writes every pending change now. It is what Run does each interval,
// and what a graceful stop calls last.
//
// The changes are taken out under the registry's lock keptBatch records at
// a time, in cid order, into one batch that every take of the flush
// reuses, where a burst's flush of 5,000 (or a shutdown's of 19,000) made
// a batch of its size, ~170 bytes a record, as garbage that brought the
// next GC cycle closer (issue 17, session 10). The batch is kept for the
// next flush: the steady flushes (a checkpoint's share, a trickle of
// registrations) make no batch garbage, nor do a burst's after its first
// (burst_keep.go), and burstLinger after a burst the kept memory goes
// back.
func (r *Registry) Flush() error {
	_, err := r.flush()
	return err
}

// flush is Flush, and says whether it handed the store anything.
func (r *Registry) flush() (wrote bool, err error) {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	// At most what is pending now: changes that keep coming while this
	// flush runs wait for the next one instead of holding it here.
	budget, taken := r.pendingChanges(), 0
	for first := true; budget > 0 || first; first = false {
		put, gone, more := r.takePending(r.batch[:0], keptBatch)
		taken += len(put)
		wrote = wrote || (r.opts.store != nil && len(put)+len(gone) > 0)
		err := r.save(put, gone)
		r.keepBatch(put)
		if err != nil {
			return wrote, err
		}
		budget -= len(put) + len(gone)
		if !more {
			break
		}
	}
	r.lingerOrLetGo(taken)
	if wrote { // an empty flush says nothing of the store
		r.noteFlush(nil)
		r.noteUpkeep() // a Save may have compacted
	}
	return wrote, nil
}

// save writes a take's records in chunks of saveChunk, sorted by cid, each
// one store transaction: a checkpoint rewrites every connected record, and
// one transaction over all of them dirties every page of the store at once
// (a transient of the store's size on each checkpoint, which the soak
// showed as RSS). A chunk of neighbouring cids dirties only its own pages.
// A CopyingStore gets the take in one transaction: it bounds its memory
// itself. On failure what was not saved goes back on the pending lists for the
// next flush, and the failure is noted. r.flushMu must be held.
func (r *Registry) save(put []Record, gone []string) error {
	if r.opts.store == nil || (len(put) == 0 && len(gone) == 0) {
		return nil
	}
	r.wb.inflight.Store(int64(len(put) + len(gone)))
	defer r.wb.inflight.Store(0)
	for len(put) > 0 || len(gone) > 0 {
		n := len(put)
		if !r.opts.storeCopies {
			n = min(n, saveChunk)
		}
		r.saveBegins()
		err := r.opts.store.Save(put[:n], gone)
		r.saveEnds()
		if err != nil {
			r.restorePending(put, gone)
			r.wb.inflight.Store(0) // back in dirty: counted there
			err = fmt.Errorf("registry: save: %w", err)
			r.noteFlush(err)
			return err
		}
		r.wb.inflight.Add(-int64(n + len(gone)))
		put, gone = put[n:], nil
	}
	return nil
}

// pendingChanges counts the changed records and pruned cids waiting.
func (r *Registry) pendingChanges() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dirty) + len(r.gone)
}

// saveChunk is the most records one store transaction writes.
const saveChunk = 1024

// keptBatch is the most records a flush takes out of the registry at a
// time, and so the largest batch (~170 B a record) it reuses.
const keptBatch = 2 * saveChunk

// keepBatch keeps put's array for the next take or flush, emptied so that
// it holds no strings alive. r.flushMu must be held.
func (r *Registry) keepBatch(put []Record) {
	if cap(put) > keptBatch {
		return
	}
	clear(put[:cap(put)])
	r.batch = put[:0]
}

// batchCap is the capacity a batch for n records is made with: the next
// power of two, so that flushes each taking a few more records than any
// before (a rising rate; node/BenchmarkHandshake's flushes made six
// batches of ~1,300 records in 40,000 handshakes) do not each make a new
// one; at most keptBatch, the most a take holds. A steady flush keeps at
// most twice its own size.
func batchCap(n int) int { return min(1<<bits.Len(uint(n-1)), keptBatch) }

// takePending copies up to max of the changed records, the lowest cids
// first, and the pruned cids out under the lock, into buf when it is large
// enough; more says changed records are left. The changed entries are a
// list, not a set of cids: a burst's flush sorts its own few thousand
// pointers instead of walking every record of the B-tree with a map
// lookup each (issue 17, session 9).
func (r *Registry) takePending(buf []Record, max int) (put []Record, gone []string, more bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(r.dirty), max)
	// Sized once: grown by append, a burst's records were copied about
	// twice over under the lock the event loops register under.
	put = buf[:0]
	if cap(put) < n {
		put = make([]Record, 0, batchCap(n))
	}
	r.batchText.reserve(cap(put))
	slices.SortFunc(r.dirty, byEntryCID) // pdqsort: one pass when already sorted
	for _, e := range r.dirty[:n] {
		e.dirty = false
		put = r.batchText.add(put, e, r)
	}
	r.batchText.fill(put, r.opts.storeCopies)
	r.takeDirty(n)
	gone, r.gone = r.gone, nil
	return put, gone, len(r.dirty) > 0
}

func byEntryCID(a, b *entry) int { return strings.Compare(a.cid, b.cid) }

func (r *Registry) restorePending(put []Record, gone []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range put {
		if e, ok := r.getLocked(rec.CID); ok {
			r.markDirtyLocked(e)
		}
	}
	r.gone = append(r.gone, gone...)
}
