package registry

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// The write-behind's health. A flush that fails keeps its batch pending
// and the next one retries it, so a full disk loses nothing while the
// process lives, but nothing reaches the disk either: a crash then loses
// every change since the fault. So a failing store must be seen: one
// warning when writing starts failing and one line when it works again
// (never one per flush interval), a count of failed flushes, the number of
// records waiting, and StoreErr for /readyz.

// writeBehind is the flusher's health. Safe for concurrent use.
type writeBehind struct {
	inflight atomic.Int64  // records and deletions of the batch being saved
	failures atomic.Uint64 // failed flushes since start

	mu          sync.Mutex
	err         error     // the last flush's error; nil once one succeeds
	since       time.Time // when the flushes started failing
	failedSince uint64    // failures counted when they started failing
	upkeep      error     // the store's UpkeepErr as last seen
	saveStart   time.Time // when the Save in flight began; zero when none is
	stallLogged bool      // the Save in flight was logged as stalled
}

// stallAfter is how long a Save may go without returning before the store
// is taken as one that does not answer: a frozen file system (fsfreeze, a
// snapshot tool), a failing disk's retries, a network mount that hangs.
// Such a write fails nothing, so without this nothing said it: /readyz
// stayed 200 with no note and the log was silent for as long as the
// disk did not answer, while every change since waited in memory for a
// crash to lose (an audit froze the data dir for a minute). Far above
// an fdatasync on a busy disk, so a slow one is not taken for it.
const stallAfter = 10 * time.Second

// saveBegins and saveEnds bracket a Save (store.go): while one has gone
// stallAfter without returning, StoreErr says so and the watch logs it
// once; its return is logged when its stall was.
func (r *Registry) saveBegins() {
	r.wb.mu.Lock()
	r.wb.saveStart = time.Now()
	r.wb.mu.Unlock()
}

func (r *Registry) saveEnds() {
	r.wb.mu.Lock()
	defer r.wb.mu.Unlock()
	if r.wb.stallLogged {
		r.logger().Info("registry: a write to the store returned after its stall",
			zap.Duration("took", time.Since(r.wb.saveStart).Round(time.Millisecond)))
		r.wb.stallLogged = false
	}
	r.wb.saveStart = time.Time{}
}

// stalledFor is how long the Save in flight has gone without returning,
// when that is stallAfter or more; else 0. r.wb.mu is held.
func (r *Registry) stalledFor() time.Duration {
	if r.wb.saveStart.IsZero() {
		return 0
	}
	if d := time.Since(r.wb.saveStart); d >= stallAfter {
		return d
	}
	return 0
}

// watchStalls logs, once a Save has gone stallAfter without returning,
// one warning for it: the flusher is stuck in that Save and can say
// nothing itself. It runs until stop is closed.
func (r *Registry) watchStalls(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		r.wb.mu.Lock()
		if d := r.stalledFor(); d > 0 && !r.wb.stallLogged {
			r.wb.stallLogged = true
			r.logger().Warn("registry: a write to the store has not returned; records are kept in memory, "+
				"but a crash now loses them",
				zap.Duration("waiting_for", d.Round(time.Second)), zap.Int("pending", r.pendingWrites()),
				zap.String("fix", "the store does not answer: on a single node the data dir's disk (a frozen "+
					"file system, a failing disk, a network mount that hangs); in a cluster, NATS"))
		}
		r.wb.mu.Unlock()
	}
}

func (r *Registry) logger() *zap.Logger {
	if r.opts.log == nil {
		return zap.NewNop()
	}
	return r.opts.log
}

// StoreHealth is what the write-behind reports.
type StoreHealth struct {
	// Pending is the records and deletions not yet on disk.
	Pending int
	// Failures counts the flushes that failed since the process started.
	Failures uint64
	// Err is the last flush's error while flushes fail; nil once one
	// succeeds. Since is when they started failing.
	Err   error
	Since time.Time
}

// StoreHealth reports the write-behind's state. Safe from any goroutine;
// it takes the registry's lock briefly to count what is pending.
func (r *Registry) StoreHealth() StoreHealth {
	h := StoreHealth{Pending: r.pendingWrites(), Failures: r.wb.failures.Load()}
	r.wb.mu.Lock()
	h.Err, h.Since = r.wb.err, r.wb.since
	r.wb.mu.Unlock()
	return h
}

// StoreErr says why the store cannot be written, or nil while it can:
// what /readyz reports. Safe from any goroutine.
func (r *Registry) StoreErr() error {
	h := r.StoreHealth()
	if h.Err == nil {
		r.wb.mu.Lock()
		d, since := r.stalledFor(), r.wb.saveStart
		r.wb.mu.Unlock()
		if d > 0 {
			return fmt.Errorf("registry store cannot write: a write to it has not returned since %s (%s; %d records waiting, "+
				"kept in memory: a crash now loses them): the data dir's disk does not answer",
				since.UTC().Format(time.RFC3339), d.Round(time.Second), h.Pending)
		}
		return nil
	}
	return fmt.Errorf("registry store cannot write since %s (%d records waiting, kept in memory and retried): %w",
		h.Since.UTC().Format(time.RFC3339), h.Pending, h.Err)
}

// pendingWrites counts the changes not yet on disk.
func (r *Registry) pendingWrites() int {
	r.mu.Lock()
	n := len(r.dirty) + len(r.gone)
	r.mu.Unlock()
	return n + int(r.wb.inflight.Load())
}

// noteFlush records the result of a flush that tried to write, and logs
// the turns from working to failing and back.
func (r *Registry) noteFlush(err error) {
	log := r.opts.log
	if log == nil {
		log = zap.NewNop()
	}
	r.wb.mu.Lock()
	defer r.wb.mu.Unlock()
	if err != nil {
		n := r.wb.failures.Add(1)
		if r.wb.err == nil {
			r.wb.since, r.wb.failedSince = time.Now(), n-1
			fields := []zap.Field{zap.Error(err), zap.Int("pending", r.pendingWrites())}
			if s, ok := r.opts.store.(AdvisingStore); ok {
				fields = append(fields, zap.String("fix", s.WhatToFix()))
			}
			log.Warn("registry: writing to the store fails; records are kept in memory and retried every flush, "+
				"but a crash now loses them", fields...)
		}
		r.wb.err = err
		return
	}
	if r.wb.err != nil {
		log.Info("registry: writing to the store works again; every pending record is on disk",
			zap.Duration("failed_for", time.Since(r.wb.since).Round(time.Millisecond)),
			zap.Uint64("failed_flushes", r.wb.failures.Load()-r.wb.failedSince))
		r.wb.err = nil
	}
}

// UpkeepStore is a Store with upkeep of its own (a compaction of its
// files) whose failure puts nothing saved at risk but wants the operator.
type UpkeepStore interface {
	// UpkeepErr is nil, or why the upkeep fails and since when. Safe
	// from any goroutine.
	UpkeepErr() error
}

// noteUpkeep reads the store's upkeep after a flush or an idle upkeep,
// and logs its turns from working to failing and back.
func (r *Registry) noteUpkeep() {
	s, ok := r.opts.store.(UpkeepStore)
	if !ok {
		return
	}
	err := s.UpkeepErr()
	log := r.opts.log
	if log == nil {
		log = zap.NewNop()
	}
	r.wb.mu.Lock()
	defer r.wb.mu.Unlock()
	switch {
	case err != nil && r.wb.upkeep == nil:
		log.Warn("registry: the store's upkeep fails; every change is saved, and retried", zap.Error(err))
	case err == nil && r.wb.upkeep != nil:
		log.Info("registry: the store's upkeep works again")
	}
	r.wb.upkeep = err
}

// UpkeepErr is the store's upkeep failure as the flusher last saw it
// (UpkeepStore), for /readyz's body: the server stays ready, as nothing
// saved is at risk. Safe from any goroutine.
func (r *Registry) UpkeepErr() error {
	r.wb.mu.Lock()
	defer r.wb.mu.Unlock()
	if r.wb.upkeep == nil {
		return nil
	}
	return fmt.Errorf("registry: %w", r.wb.upkeep)
}

// WithLogger sets the logger of the write-behind's warnings. By default
// the registry logs nothing.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.log = l } }
