package registry

// What the registry holds per client beyond its records, kept small: the
// point of cliser is to hold many idle clients cheaply (issue 17).

// dirtyKeep is the largest set of changed cids a flush clears for reuse.
// A Go map never gives back its tables: cleared, the set a ramp of
// registrations or a restart's Load grew would hold some 40 bytes per
// client for good. A set larger than this is dropped for a new one.
const dirtyKeep = 1024

// resetDirty empties the set of changed cids after a flush took them.
// r.mu must be held.
func (r *Registry) resetDirty() {
	if len(r.dirty) > dirtyKeep {
		r.dirty = make(map[string]struct{})
		return
	}
	clear(r.dirty)
}
