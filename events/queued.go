package events

import "time"

// queued is an event as the queue holds it: 120 bytes where an Event is
// 216. A burst holds thousands of events in flight and the blocks that
// hold them are made anew after the idle writer let go of them (~150 B a
// handshake of a burst's garbage at 216 bytes an event, issue 17). The
// loop's events (client.*) have their fields here; what only the others
// have (a seq or an id set by the caller, a type not in Types, a ban's
// kind, value and by) sits behind rare, made for them alone.
type queued struct {
	node, cid, cip, cport, session string
	reason                         *string    // the Event's pointer, kept: the loop's point at fixed texts
	connectedAt                    *time.Time // the Event's pointer, kept (made by the caller)
	rare                           *rareFields
	sec                            int64 // Time as Unix seconds and nanoseconds: encoded in UTC anyway
	nsec                           int32
	sid                            uint16
	typ                            uint8 // 1 + its index in Types; 0: rare.typ
}

// rareFields are the fields that the loop's events leave empty.
type rareFields struct {
	seq                      uint64
	id, typ, kind, value, by string
}

// queuedOf is ev's queued form.
func queuedOf(ev *Event) queued {
	q := queued{
		node: ev.Node, cid: ev.CID, cip: ev.CIP, cport: ev.CPort, session: ev.Session,
		reason: ev.Reason, connectedAt: ev.ConnectedAt,
		sec: ev.Time.Unix(), nsec: int32(ev.Time.Nanosecond()), sid: ev.SID, typ: typeIndex(ev.Type),
	}
	if q.typ == 0 || ev.Seq != 0 || ev.ID != "" || ev.Kind != "" || ev.Value != "" || ev.By != "" {
		q.rare = &rareFields{seq: ev.Seq, id: ev.ID, kind: ev.Kind, value: ev.Value, by: ev.By}
		if q.typ == 0 {
			q.rare.typ = ev.Type
		}
	}
	return q
}

// event is q as the Event it was queued as (its time in UTC).
func (q *queued) event() Event {
	ev := Event{
		Node: q.node, CID: q.cid, CIP: q.cip, CPort: q.cport, Session: q.session,
		Reason: q.reason, ConnectedAt: q.connectedAt,
		Time: time.Unix(q.sec, int64(q.nsec)).UTC(), SID: q.sid,
	}
	if q.typ > 0 {
		ev.Type = Types[q.typ-1]
	}
	if r := q.rare; r != nil {
		ev.Seq, ev.ID, ev.Kind, ev.Value, ev.By = r.seq, r.id, r.kind, r.value, r.by
		if q.typ == 0 {
			ev.Type = r.typ
		}
	}
	return ev
}

// typeIndex is 1 + typ's index in Types, 0 for another type.
func typeIndex(typ string) uint8 {
	for i, t := range Types {
		if t == typ {
			return uint8(i + 1)
		}
	}
	return 0
}
