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
}

// WithLogged gives Load the event log's newest session of each client ID
// it holds (single node: the cluster weighs spill files instead).
func WithLogged(newest map[string]Logged) Option {
	return func(o *options) { o.logged = maps.Clone(newest) }
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

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
