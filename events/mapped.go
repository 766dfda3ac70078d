package events

import (
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// releaseEvery paces releaseMapped: it walks the page tables of the whole
// file whether or not a page was read (BenchmarkReleaseMapped: ~0.3 ms
// for 70 MB), so the writer runs it at most once a second, and only
// after the writer or a reader touched the map since the last one.
const releaseEvery = time.Second

// mapped tracks whether pages of the log's file may have been read
// through bbolt's mapping since the writer last let go of them. touched
// is safe for concurrent use; the rest is the writer's.
type mapped struct {
	dirty    atomic.Bool
	released time.Time
	timer    *time.Timer
}

// touched records that the map was read (a commit's descent, a reader).
func (m *mapped) touched() { m.dirty.Store(true) }

// releaseDue lets go of the mapped pages if some may be mapped and the
// last release is releaseEvery old.
func (m *mapped) releaseDue(db *bolt.DB) {
	if !m.dirty.Load() || time.Since(m.released) < releaseEvery {
		return
	}
	m.dirty.Store(false)
	releaseMapped(db)
	m.released = time.Now()
}

// due is a channel that fires when a release is due, for the idle writer
// to wait on beside its queue; nil (never fires) when nothing is mapped.
func (m *mapped) due() <-chan time.Time {
	if !m.dirty.Load() {
		return nil
	}
	wait := max(releaseEvery-time.Since(m.released), 0)
	if m.timer == nil {
		m.timer = time.NewTimer(wait)
	} else {
		m.timer.Reset(wait)
	}
	return m.timer.C
}
