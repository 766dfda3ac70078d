package registry

// Rewrite marks cid's record for the next flush as it is, so the store
// writes it again: the cluster store, after another node overwrote this
// node's live client (it judged the node lost). Writing through the
// flusher keeps one writer per record, in order, so a rewrite can never
// land after, and undo, a newer change of the same client. It reports
// whether the registry holds cid. Safe from any goroutine.
func (r *Registry) Rewrite(cid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.getLocked(cid)
	if !ok {
		return false
	}
	r.markDirtyLocked(e)
	return true
}
