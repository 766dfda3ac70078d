package registry

import "slices"

// What the registry holds per client beyond its records, kept small: the
// point of cliser is to hold many idle clients cheaply (issue 17).

// dirtyKeep is the largest list of changed entries kept for reuse once
// the flushes are quiet (dirtyBurstKeep through a burst): the list a ramp
// of registrations or a restart's Load grew (8 bytes a client) is dropped
// for a new one.
const dirtyKeep = 1024

// markDirtyLocked puts e on the list of changed entries, once. r.mu must
// be held.
func (r *Registry) markDirtyLocked(e *entry) {
	if !e.dirty {
		e.dirty = true
		r.dirty = append(r.dirty, e)
	}
}

// dropDirtyLocked takes entries that leave the B-tree off the list of
// changed entries: a flush must not write them. One pass over the list
// for all of them, so a sweep that prunes many records right after a
// restart's Load marked them changed stays linear. r.mu must be held.
func (r *Registry) dropDirtyLocked(es ...*entry) {
	dropped := false
	for _, e := range es {
		if e.dirty {
			e.dirty, dropped = false, true
		}
	}
	if dropped { // every entry left on the list is still marked
		r.dirty = slices.DeleteFunc(r.dirty, func(d *entry) bool { return !d.dirty })
	}
}

// insertLocked puts e in the B-tree. If it replaces a changed entry of
// the same cid (a store never returns a cid twice; were it to, the last
// wins), e takes its place on the list. r.mu must be held.
func (r *Registry) insertLocked(e *entry) {
	r.byHash.put(e) // in place of old, if any
	if old, ok := r.byCID.ReplaceOrInsert(e); ok && old.dirty {
		r.dropDirtyLocked(old)
		r.markDirtyLocked(e)
	}
}

// takeDirty takes the first n entries, which a flush has just taken, off
// the list of changed entries. r.mu must be held.
func (r *Registry) takeDirty(n int) {
	if n == len(r.dirty) {
		r.resetDirty()
		return
	}
	rest := copy(r.dirty, r.dirty[n:])
	clear(r.dirty[rest:])
	r.dirty = r.dirty[:rest]
}

// resetDirty empties the list of changed entries after a flush took them,
// so that it holds no entry alive. A burst's list is kept for its next
// flush (lingerOrLetGo lets go of it). r.mu must be held.
func (r *Registry) resetDirty() {
	if cap(r.dirty) > dirtyBurstKeep {
		r.dirty = nil
		return
	}
	clear(r.dirty)
	r.dirty = r.dirty[:0]
}
