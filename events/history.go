package events

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/cliser/cliser/internal/jsonenc"
)

// Session is one registered connection of a client, as
// GET /v1/clients/{cid}/history shows it (EVENTS.md).
type Session struct {
	Session        string     `json:"session"`
	SID            uint16     `json:"sid"`
	Node           string     `json:"node"`
	CIP            string     `json:"cip"`
	CPort          string     `json:"cport"`
	ConnectedAt    *time.Time `json:"connected_at"`
	DisconnectedAt *time.Time `json:"disconnected_at"` // null while connected
	Reason         string     `json:"reason"`          // why it ended; "" while connected
}

// MarshalJSON writes the session with its times as the events' (to the
// microsecond, six digits), which they come from.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Session        string  `json:"session"`
		SID            uint16  `json:"sid"`
		Node           string  `json:"node"`
		CIP            string  `json:"cip"`
		CPort          string  `json:"cport"`
		ConnectedAt    *micros `json:"connected_at"`
		DisconnectedAt *micros `json:"disconnected_at"`
		Reason         string  `json:"reason"`
	}{s.Session, s.SID, s.Node, s.CIP, s.CPort, (*micros)(s.ConnectedAt), (*micros)(s.DisconnectedAt), s.Reason})
}

// micros is a time written to the microsecond.
type micros time.Time

func (m micros) MarshalJSON() ([]byte, error) {
	return jsonenc.AppendTime(nil, time.Time(m), jsonenc.Micros)
}

// Historian answers per-client questions from an index by client ID, so
// that no request scans the whole log. Safe for concurrent use.
type Historian interface {
	// History is cid's last sessions, newest first.
	History(ctx context.Context, cid string, limit int) ([]Session, error)
	// ReadCID is Reader.Read for cid's events only.
	ReadCID(ctx context.Context, cid string, after uint64, limit int) ([]Event, error)
	// LatestCID is cid's newest limit events, newest first.
	LatestCID(ctx context.Context, cid string, limit int) ([]Event, error)
}

var _ Historian = (*Log)(nil)

// history is Historian.History from a log's LatestCID. A session is at
// most a handful of events (connected, shutdown sent and acked,
// disconnected); a bounded read keeps one request cheap.
func history(ctx context.Context, latest func(context.Context, string, int) ([]Event, error), cid string, limit int) ([]Session, error) {
	evs, err := latest(ctx, cid, limit*8+16)
	if err != nil {
		return nil, err
	}
	return Sessions(evs, limit), nil
}

// Sessions folds one client's events, given newest first, into at most
// limit sessions, newest connected_at first. A session is named by its events' session
// field; each of its events fills what it knows (a disconnect carries the
// connection's details too, so a session whose connect fell out of the
// log is still whole).
func Sessions(newestFirst []Event, limit int) []Session {
	var out []Session
	at := make(map[string]int)
	for _, ev := range newestFirst {
		if ev.Session == "" || (ev.Type != TypeConnected && ev.Type != TypeDisconnected) {
			continue
		}
		i, seen := at[ev.Session]
		if !seen {
			i = len(out)
			at[ev.Session] = i
			out = append(out, Session{Session: ev.Session})
		}
		s := &out[i]
		s.SID, s.Node, s.CIP, s.CPort = pick(s.SID, ev.SID), pickS(s.Node, ev.Node), pickS(s.CIP, ev.CIP), pickS(s.CPort, ev.CPort)
		switch ev.Type {
		case TypeConnected:
			t := ev.Time
			s.ConnectedAt = &t
		case TypeDisconnected:
			// The newest end, seen first: a node judged lost while it was
			// only slow gets "node lost", then the session's real end, and
			// history kept the stray one where the record said the real
			// one (cluster audit).
			if s.DisconnectedAt != nil {
				break
			}
			t := ev.Time
			s.DisconnectedAt = &t
			if ev.Reason != nil {
				s.Reason = *ev.Reason
			}
			if s.ConnectedAt == nil && ev.ConnectedAt != nil {
				c := *ev.ConnectedAt
				s.ConnectedAt = &c
			}
		}
	}
	// By connected_at, newest first: a takeover's events interleave two
	// sessions, and the order of first sight need not be theirs.
	slices.SortStableFunc(out, func(a, b Session) int {
		switch {
		case a.ConnectedAt == nil || b.ConnectedAt == nil:
			return boolCmp(a.ConnectedAt == nil, b.ConnectedAt == nil)
		}
		return b.ConnectedAt.Compare(*a.ConnectedAt)
	})
	return out[:min(len(out), max(limit, 0))]
}

// boolCmp orders false before true.
func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func pick(have, v uint16) uint16 {
	if have != 0 {
		return have
	}
	return v
}

func pickS(have, v string) string {
	if have != "" {
		return have
	}
	return v
}
