package registry

import (
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/cliser/cliser/protocol"
)

// Registry holds every client record, connected or not. Every method is
// safe to call from any goroutine: the event loops register and drop
// clients at once while the admin API reads. One mutex guards the records,
// held briefly and never over I/O: the store is written by Flush, outside
// it. Load is still called once, before serving, and Run on one goroutine.
type Registry struct {
	mu        sync.Mutex
	byCID     *btree.BTreeG[*entry] // ordered by cid: cursor pages and the sweep
	byHash    cidIndex              // the same entries, for lookups by cid
	bySID     [65536]*entry         // connected entries by sid, for the hot path
	sids      sidAllocator
	connected int
	opts      options
	dirty     []*entry    // changed since the last flush, each once (entry.dirty)
	gone      []string    // cids pruned since the last flush
	flushMu   sync.Mutex  // one flush at a time, so batches land in order
	batch     []Record    // the last flush's batch, emptied, for the next; under flushMu
	batchText batchText   // its ports and session names as text; under flushMu
	burstAt   time.Time   // the last flush that needed the kept buffers (burst_keep.go); under flushMu
	key       entry       // the sweep's search key, reused under mu so it does not allocate
	wb        writeBehind // the flusher's health (writebehind.go)

	names    nameTable // the prefixes of the entries' session names; under mu
	texts    textSlab  // the records' ports and session names, as handed out; under mu
	prefix   uint32    // this process's prefix in names, 0 until the first name; under mu
	sessions uint32    // sessions named under prefix so far; under mu

	restarted    int // records Load marked "server restarted"; under mu
	lostConnects int // sessions whose connect Load logged, the log having lost it; under mu
	fromLog      int // records Load made from the log's sessions, the store lacking them; under mu

	// taken holds the cid of each connection a takeover replaced, until its
	// own late disconnect takes it (DisconnectSID, Disconnect): its sid was
	// handed back at the takeover, so that disconnect no longer finds its
	// record, and the reactor's session keeps no cid of its own to name it
	// in its "client disconnected" line. Under mu; nil until a takeover.
	taken map[Conn]string
}

// getLocked finds cid's entry. r.mu must be held.
func (r *Registry) getLocked(cid string) (*entry, bool) {
	e := r.byHash.get(cid)
	return e, e != nil
}

// New makes an empty registry. Load fills it from its store.
func New(opts ...Option) *Registry {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Registry{
		byCID:  btree.NewG(32, lessCID),
		byHash: newCIDIndex(),
		opts:   o,
		names:  newNameTable(),
	}
}

// Register records a connection for cid and hands it a sid. When cid is
// already connected, the older connection is returned as replaced: the
// caller must close it with ReasonReplaced (takeover; the newest wins). It
// fails with ErrFull when no sid is free or max clients are connected.
func (r *Registry) Register(cid, cip, cport string, conn Conn) (sid uint16, replaced Conn, err error) {
	return r.RegisterPort(cid, &cip, parsePort(cport), conn)
}

// RegisterPort is Register with the port as a number and the address by
// pointer, as the reactor holds them: the port's string would be formatted
// for each registration only to be parsed back, and the record shares the
// address's string (one per address) instead of holding its own header.
// The registry never writes through cip; nor may the caller.
func (r *Registry) RegisterPort(cid string, cip *string, cport uint16, conn Conn) (sid uint16, replaced Conn, err error) {
	now := toNanos(r.opts.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	e, found := r.getLocked(cid)
	if found && e.cstatus {
		// Takeover: the old connection's sid goes back first, so a full
		// registry still lets a client replace itself.
		replaced = e.conn
		if replaced != nil && replaced != conn {
			if r.taken == nil {
				r.taken = make(map[Conn]string)
			}
			r.taken[replaced] = cid
		}
		r.releaseLocked(e)
		// The old connection's end goes out before the new one's start,
		// so a consumer sees a client's sessions in order; its own late
		// Disconnect finds another owner and says nothing.
		e.disconnectedAt, e.reason = now, protocol.ReasonReplaced
		r.emitLocked(ChangeDisconnected, e, now, "")
	}
	if r.connected >= r.opts.maxClients {
		return 0, replaced, ErrFull
	}
	sid = r.sids.alloc()
	if sid == 0 {
		return 0, replaced, ErrFull
	}
	if !found {
		e = &entry{cid: cid}
		r.byCID.ReplaceOrInsert(e)
		r.byHash.put(e)
	}
	e.sid, e.cip, e.cport, e.cstatus = sid, cip, cport, true
	e.connectedAt, e.lastSeen, e.disconnectedAt = now, now, 0
	e.reason, e.conn = protocol.ReasonNone, conn
	e.session = r.nextSessionLocked()
	r.bySID[sid] = e
	r.connected++
	r.markDirtyLocked(e)
	r.emitLocked(ChangeConnected, e, now, "")
	return sid, replaced, nil
}

// releaseLocked frees e's sid and live-connection bookkeeping.
func (r *Registry) releaseLocked(e *entry) {
	r.sids.free(e.sid)
	r.bySID[e.sid] = nil
	r.connected--
	e.lastSeen = e.seen() // the connection's own, before it goes
	e.cstatus, e.conn = false, nil
}

// Disconnect marks cid disconnected with reason, if conn still owns the
// record. A connection that was replaced no longer owns it, so its late
// Disconnect changes nothing; the result says whether it did.
func (r *Registry) Disconnect(cid string, conn Conn, reason protocol.Reason) bool {
	now := toNanos(r.opts.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	e, _ := r.getLocked(cid)
	if r.disconnectLocked(e, conn, reason, now) {
		return true
	}
	delete(r.taken, conn)
	return false
}

// DisconnectSID is Disconnect for the connection conn that was given sid:
// an array index instead of a search by cid, for a caller that keeps no
// cid (the reactor's session, to stay small). It returns the record's cid
// and owned when conn still owned it. Otherwise it changes nothing and
// owned is false: cid is then the one a takeover replaced conn for (its
// end is already recorded, as replaced), or "" when conn is already gone.
func (r *Registry) DisconnectSID(sid uint16, conn Conn, reason protocol.Reason) (cid string, owned bool) {
	now := toNanos(r.opts.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.bySID[sid]; r.disconnectLocked(e, conn, reason, now) {
		return e.cid, true
	}
	if cid, ok := r.taken[conn]; ok {
		delete(r.taken, conn)
		return cid, false
	}
	return "", false
}

// disconnectLocked marks e disconnected if conn still owns it (e may be
// nil). r.mu must be held.
func (r *Registry) disconnectLocked(e *entry, conn Conn, reason protocol.Reason, now int64) bool {
	if e == nil || !e.cstatus || e.conn != conn {
		return false
	}
	r.releaseLocked(e)
	e.disconnectedAt, e.reason = now, reason
	r.markDirtyLocked(e)
	r.emitLocked(ChangeDisconnected, e, now, "")
	return true
}

// Touch sets last_seen of the connection holding sid, if conn still owns it.
// It is a keep-alive path for a Conn that keeps no last_seen of its own (a
// Seer does, and needs no call): an array index under the registry's lock,
// no map, no allocation. It does not mark the record dirty; see Run for how
// last_seen reaches disk.
func (r *Registry) Touch(sid uint16, conn Conn) {
	now := toNanos(r.opts.now())
	r.mu.Lock()
	if e := r.bySID[sid]; e != nil && e.conn == conn {
		e.lastSeen = now
	}
	r.mu.Unlock()
}

// Get returns the record of cid.
func (r *Registry) Get(cid string) (Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.getLocked(cid)
	if !ok {
		return Record{}, false
	}
	return r.record(e), true
}

// Conn returns the live connection of cid: ErrNotFound when there is no
// such record, ErrNotConnected when it is not connected.
func (r *Registry) Conn(cid string) (Conn, error) {
	return r.conn(cid, func(*entry) bool { return true })
}

// ConnOf is Conn for one session: it returns cid's live connection only
// while it is still the one that got sid. Since sids rotate, a newer
// connection of the same client has another sid, so a caller that decided
// on an older session's record never reaches the newer one.
func (r *Registry) ConnOf(cid string, sid uint16) (Conn, error) {
	return r.conn(cid, func(e *entry) bool { return e.sid == sid })
}

// conn is Conn and ConnOf: cid's live connection when its entry passes ok.
func (r *Registry) conn(cid string, ok func(*entry) bool) (Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, found := r.getLocked(cid)
	switch {
	case !found:
		return nil, ErrNotFound
	case !e.cstatus || !ok(e):
		return nil, ErrNotConnected
	}
	return e.conn, nil
}

// Conns returns the live connections, for a broadcast. The slice is a
// snapshot: connections may end before the caller uses them.
func (r *Registry) Conns() []Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Conn, 0, r.connected)
	for _, e := range r.bySID {
		if e != nil {
			out = append(out, e.conn)
		}
	}
	return out
}

// Counts returns the connected clients and all records.
func (r *Registry) Counts() (connected, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connected, r.byCID.Len()
}
