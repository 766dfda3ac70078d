package registry

import (
	"strconv"
	"time"

	"github.com/cliser/cliser/protocol"
)

// entry is how the registry holds a record: compact, because there is one
// per client and the point of cliser is to hold many idle clients cheaply.
// Times are Unix nanoseconds (0 for none) instead of three 24-byte
// time.Time values, the port is a number, the address a pointer to a
// string shared by the clients of one address, and the session name 8
// bytes (session_name.go); Record, the value callers see, is built on the
// way out. 80 bytes (Go's size class; TestEntryFitsItsSizeClass) against
// a Record's 220.
type entry struct {
	cid     string
	cip     *string     // shared, never written through; nil for none
	session sessionName // names the connection (EVENTS.md)
	conn    Conn        // the live connection; nil when disconnected

	connectedAt    int64
	lastSeen       int64
	disconnectedAt int64

	sid     uint16
	cport   uint16
	reason  protocol.Reason
	cstatus bool
	dirty   bool // in Registry.dirty: changed since the last flush took it
}

func lessCID(a, b *entry) bool { return a.cid < b.cid }

// record is e as callers see it. r.mu must be held.
func (r *Registry) record(e *entry) Record {
	rec := e.recordNoText(r.opts.node)
	rec.CPort, rec.Session = r.names.portAndName(e.cport, e.session, &r.texts)
	return rec
}

// recordNoText is e's record without its port and session name, the two
// fields formatted on the way out (a flush gives them as batchText).
func (e *entry) recordNoText(node string) Record {
	return Record{
		SID:            e.sid,
		CID:            e.cid,
		CIP:            textOf(e.cip),
		CStatus:        e.cstatus,
		ConnectedAt:    fromNanos(e.connectedAt),
		LastSeen:       fromNanos(e.seen()),
		DisconnectedAt: fromNanos(e.disconnectedAt),
		Reason:         e.reason,
		Node:           node,
	}
}

// entryOf is the entry of a stored record.
func entryOf(rec Record, names sessionNames, cips cipTexts) *entry {
	return &entry{
		cid:            rec.CID,
		cip:            cips.of(rec.CIP),
		cport:          parsePort(rec.CPort),
		connectedAt:    toNanos(rec.ConnectedAt),
		lastSeen:       toNanos(rec.LastSeen),
		disconnectedAt: toNanos(rec.DisconnectedAt),
		sid:            rec.SID,
		reason:         rec.Reason,
		cstatus:        rec.CStatus,
		session:        names.of(rec.Session),
	}
}

// textOf is *p, "" for nil.
func textOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// cipTexts shares one string per address among the records read from the
// store, as the reactor does among its connections. Load uses one.
type cipTexts map[string]*string

func (m cipTexts) of(cip string) *string {
	if cip == "" {
		return nil
	}
	p, ok := m[cip]
	if !ok {
		p = &cip
		m[cip] = p
	}
	return p
}

// parsePort reads a TCP port; anything else (it never comes from a socket)
// becomes 0.
func parsePort(s string) uint16 {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(p)
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
