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

// The states of mapped. A release in progress is a state of its own so
// that clean means "let go of", not "about to be": a reader that reads
// meanwhile makes it dirty again, and the release does not clear that.
const (
	mapClean     uint32 = iota // nothing read since the last release
	mapDirty                   // pages may have been read: a release is due
	mapReleasing               // the writer is letting go of them
)

// mapped tracks whether pages of the log's file may have been read
// through bbolt's mapping since the writer last let go of them. touched
// and clean are safe for concurrent use; the rest is the writer's.
type mapped struct {
	state    atomic.Uint32
	released time.Time
	timer    *time.Timer
}

// touched records that the map was read (a commit's descent, a reader);
// it reports whether the map was clean, when an idle writer needs waking.
func (m *mapped) touched() (wasClean bool) { return m.state.Swap(mapDirty) == mapClean }

// clean reports that every page read so far has been let go of and no
// release is due or under way.
func (m *mapped) clean() bool { return m.state.Load() == mapClean }

// releaseDue lets go of the mapped pages if some may be mapped and the
// last release is releaseEvery old.
func (m *mapped) releaseDue(db *bolt.DB) {
	if m.state.Load() != mapDirty || time.Since(m.released) < releaseEvery {
		return
	}
	m.state.Store(mapReleasing)
	releaseMapped(db)
	m.released = time.Now()
	m.state.CompareAndSwap(mapReleasing, mapClean) // fails if read meanwhile: stays dirty
}

// due is a channel that fires when a release is due, for the idle writer
// to wait on beside its queue; nil (never fires) when nothing is mapped.
func (m *mapped) due() <-chan time.Time {
	if m.state.Load() != mapDirty {
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
