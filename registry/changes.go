package registry

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// ChangeKind is what happened to a connection, for the event log.
type ChangeKind uint8

// The kinds of Change.
const (
	ChangeConnected     ChangeKind = iota + 1 // registered (after 140)
	ChangeDisconnected                        // a registered connection ended; Record.Reason says why
	ChangeShutdownSent                        // "130 shutdown" went out; Text is the operator's text
	ChangeShutdownAcked                       // "130 ok" came back
)

// Change is one thing that happened to a registered connection. Record is
// the connection's record as of the change (its Session names the
// connection); At is when it happened.
type Change struct {
	Kind   ChangeKind
	At     time.Time
	Record Record
	Text   string
}

// ChangeFunc receives the registry's changes in the order they happened,
// which per client ID is the order of its connections. It is called under
// the registry's lock (that is what keeps the order), from event loops,
// several at once: it must only hand the change on (queue it) and return.
// It must not call the registry.
type ChangeFunc func(Change)

// WithChanges hands every change of a connection to f: the event log's
// source (EVENTS.md). Without it the registry reports nothing.
func WithChanges(f ChangeFunc) Option { return func(o *options) { o.changes = f } }

// newSessionPrefix is 64 random bits: sessions named by this process never
// meet those of another process or node, across restarts too.
func newSessionPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

// nextSessionLocked names a new registered connection. r.mu must be held.
// A prefix's counter runs out after 4.3 billion names; the names go on
// under a new random prefix, unique all the same.
func (r *Registry) nextSessionLocked() sessionName {
	if r.prefix == 0 || r.sessions == lastCount {
		r.prefix, r.sessions = r.names.add(newSessionPrefix()), 0
	}
	r.sessions++
	return makeName(r.prefix, r.sessions)
}

// emitLocked hands a change of e to the sink. r.mu must be held.
// emitRecordLocked is emitLocked for a session no entry holds (Load's).
func (r *Registry) emitRecordLocked(kind ChangeKind, rec Record, at time.Time) {
	if r.opts.changes != nil {
		r.opts.changes(Change{Kind: kind, At: at, Record: rec})
	}
}

func (r *Registry) emitLocked(kind ChangeKind, e *entry, at int64, text string) {
	if r.opts.changes == nil {
		return
	}
	r.opts.changes(Change{Kind: kind, At: fromNanos(at), Record: r.record(e), Text: text})
}

// ShutdownSent reports that "130 shutdown[ text]" went to the connection
// conn holding sid. Safe from any goroutine; a no-op without WithChanges.
func (r *Registry) ShutdownSent(sid uint16, conn Conn, text string) {
	r.noteLocked(ChangeShutdownSent, sid, conn, text)
}

// ShutdownAcked reports that the connection conn holding sid answered
// "130 ok". Safe from any goroutine; a no-op without WithChanges.
func (r *Registry) ShutdownAcked(sid uint16, conn Conn) {
	r.noteLocked(ChangeShutdownAcked, sid, conn, "")
}

func (r *Registry) noteLocked(kind ChangeKind, sid uint16, conn Conn, text string) {
	if r.opts.changes == nil {
		return
	}
	now := toNanos(r.opts.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.bySID[sid]; e != nil && e.conn == conn {
		r.emitLocked(kind, e, now, text)
	}
}
