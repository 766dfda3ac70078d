package registry

// Seer is a Conn that keeps its own last sign of life. Its keep-alive path
// then needs no call into the registry (Touch takes the registry's lock,
// which every event loop and the flusher share: a loop that finds it held
// stalls every client it serves). The registry reads it whenever it builds
// the connection's record, and keeps it when the connection ends.
type Seer interface {
	// LastSeen is the last sign of life in Unix nanoseconds, 0 for none
	// yet. Safe to call from any goroutine.
	LastSeen() int64
}

// seen is e's last sign of life: the registry's, or its connection's when
// that is later. r.mu must be held.
func (e *entry) seen() int64 {
	if s, ok := e.conn.(Seer); ok {
		return max(e.lastSeen, s.LastSeen())
	}
	return e.lastSeen
}
