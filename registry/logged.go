package registry

import (
	"maps"
	"time"

	"github.com/cliser/cliser/protocol"
)

// Logged is a client's newest session as the event log holds it. The
// store is written a flush interval behind, the log on its own schedule,
// so after a kill -9 one may hold what the other lost: a session whose
// end is logged but whose record is still connected on disk (its end was
// written twice: the log's, then "server restarted"), or one whose
// connect is logged but whose record never reached the disk (it was
// never ended). Load weighs each against the store's record.
type Logged struct {
	// Rec is the session as its events say: CID, SID, CIP, CPort,
	// ConnectedAt and Session; with Ended, Reason and DisconnectedAt too.
	Rec   Record
	Ended bool // its end is in the log
	// Unread: the log's newest events of the client are ones this build
	// cannot weigh (no session, an unknown reason): Load goes by the
	// record alone, and writes nothing the log may hold already.
	Unread bool
}

// LogTail is what Load weighs the store against: the newest session of
// each client ID among the log's newest events, and the time of the
// first of those (zero: the log holds none). A session the store holds
// that connected since From and is not among them lost its connect to a
// kill -9, with the batch of events it was in.
type LogTail struct {
	Sessions map[string]Logged
	From     time.Time
}

// WithLogged gives Load the event log's newest sessions (single node:
// the cluster weighs spill files instead).
func WithLogged(tail LogTail) Option {
	return func(o *options) { o.logged = LogTail{Sessions: maps.Clone(tail.Sessions), From: tail.From} }
}

// outcome is what Load does with a record.
type outcome int

const (
	keep      outcome = iota // as it is: disconnected, its end logged
	restarted                // it was connected: "server restarted", logged now
	storedEnd                // its end is stored but not logged: logged now
)

// weigh is the record Load keeps for a client, given the store's record
// (stored false: none) and the log's newest session (logged false: none),
// and what it logs for it. The log's session is newer when the store has
// another, older one.
func weigh(rec Record, stored bool, lg Logged, logged bool) (Record, outcome) {
	switch {
	case !logged || (stored && lg.Rec.Session != rec.Session && !lg.Rec.ConnectedAt.After(rec.ConnectedAt)):
		if rec.CStatus {
			return endRestarted(rec, rec.LastSeen), restarted
		}
		return rec, keep
	case stored && lg.Rec.Session == rec.Session:
		switch {
		case lg.Ended: // the log's end wins: it is the one clients and readers saw
			if rec.CStatus {
				// A kill -9 kept the end from the store, whose last_seen is
				// a checkpoint's: the end is the latest sign of life known.
				// A stored end has its own last_seen, the last echo: kept,
				// or a restart moved it to disconnected_at.
				rec.LastSeen = later(rec.LastSeen, lg.Rec.DisconnectedAt)
			}
			rec.CStatus, rec.Reason, rec.DisconnectedAt = false, lg.Rec.Reason, lg.Rec.DisconnectedAt
			return rec, keep
		case rec.CStatus:
			return endRestarted(rec, rec.LastSeen), restarted
		}
		return rec, storedEnd
	}
	// The log's session is the newest the store does not know.
	rec = lg.Rec
	if lg.Ended {
		rec.CStatus, rec.LastSeen = false, rec.DisconnectedAt
		return rec, keep
	}
	return endRestarted(rec, rec.ConnectedAt), restarted
}

// endRestarted ends rec's session at at, the last sign of life known.
func endRestarted(rec Record, at time.Time) Record {
	rec.CStatus, rec.Reason, rec.DisconnectedAt = false, protocol.ReasonServerRestarted, at
	rec.LastSeen = later(rec.LastSeen, at)
	return rec
}

// lostOf is what a kill -9 kept from the log of the store's record rec
// (found false: none), which Load writes before rec's own end: the
// record's connect, when the log's newest session of the client is an
// older one, or none while rec connected since the log's From; and that
// older session's end, when the log has it open (the takeover's
// "replaced" was in the batch lost). Both sessions ended twice or never
// in the log before: an audit's kill -9 during a takeover burst left 174
// of 200 old sessions open there and the new ones ended unstarted.
func lostOf(rec Record, found bool, lg Logged, logged bool, from time.Time) (openEnd *Record, connect bool) {
	if !found || rec.Session == "" || lg.Unread {
		return nil, false
	}
	if !logged {
		return nil, !from.IsZero() && !rec.ConnectedAt.Before(from)
	}
	if lg.Rec.Session == rec.Session || lg.Rec.ConnectedAt.After(rec.ConnectedAt) {
		return nil, false // the same session, or the log's is the newer
	}
	if !lg.Ended {
		// Ended at its connect, the last sign of life the log has, as a
		// session the store never held is.
		end := endRestarted(lg.Rec, lg.Rec.ConnectedAt)
		openEnd = &end
	}
	return openEnd, true
}

// asConnected is rec as its connect said it.
func asConnected(rec Record) Record {
	rec.CStatus, rec.Reason, rec.DisconnectedAt, rec.LastSeen = true, 0, time.Time{}, rec.ConnectedAt
	return rec
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
