package node

import (
	"context"
	"time"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// loggedTail is how many of the log's newest events a start reads to
// weigh the registry's store against (registry.Logged). The store lags
// the log by a flush (250 ms): a reconnect storm's quarter second is some
// 10,000 events; reading 32,768 takes tens of milliseconds, once.
const loggedTail = 32768

// priorEnds are the sessions' ends the log holds from since on, by
// reason, in buckets of priorBucket of their times, each as of the newest
// end in it: what the last run's final minutes add to this one's stats
// (admin.WithPriorDisconnects). Each bucket leaves the stats' window with
// its own ends; one bucket for all, as of the newest, kept an end up to
// the whole window past it.
type priorEnds map[time.Time]*priorBucketEnds

type priorBucketEnds struct {
	at       time.Time
	byReason map[string]int
}

// priorBucket is the stats' sampling period (admin's default): a prior
// end leaves the window at most that late, as a sampled one does.
const priorBucket = 5 * time.Second

// add counts one end at t.
func (p priorEnds) add(t time.Time, reason string) {
	k := t.Truncate(priorBucket)
	b := p[k]
	if b == nil {
		b = &priorBucketEnds{byReason: map[string]int{}}
		p[k] = b
	}
	b.byReason[reason]++
	if t.After(b.at) {
		b.at = t
	}
}

// loggedSessions is the newest session of each client ID among the
// single-node log's last loggedTail events. A client whose events there
// lack a session (an earlier build's) or whose end's reason this version
// does not know is left out: Load goes by its record alone. It also
// counts the ends logged from since on.
func loggedSessions(ctx context.Context, l *events.Log, since time.Time) (map[string]registry.Logged, priorEnds, error) {
	prior := priorEnds{}
	newest := l.Newest()
	after := newest - min(newest, loggedTail)
	// Not before the oldest kept: a log begun anew after its floor
	// (events.seq) or a small --event-retention keeps fewer, and reading
	// from before them is a 410 that skipped the whole tail.
	if oldest := l.Oldest(); oldest > 0 {
		after = max(after, oldest-1)
	}
	out := map[string]registry.Logged{}
	for after < newest {
		evs, err := l.ReadUnlogged(ctx, after, 1000) // a damaged one refuses the start, which says so
		if err != nil {
			return nil, prior, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			noteSession(out, ev)
			if ev.Type == events.TypeDisconnected && ev.Reason != nil && !ev.Time.Before(since) {
				prior.add(ev.Time, *ev.Reason)
			}
		}
		after = evs[len(evs)-1].Seq
	}
	return out, prior, nil
}

// noteSession updates out with one event of the log, in order.
func noteSession(out map[string]registry.Logged, ev events.Event) {
	if ev.Type != events.TypeConnected && ev.Type != events.TypeDisconnected {
		return
	}
	if ev.Session == "" {
		delete(out, ev.CID)
		return
	}
	rec := registry.Record{CID: ev.CID, SID: ev.SID, CIP: ev.CIP, CPort: ev.CPort, Session: ev.Session,
		CStatus: true, ConnectedAt: ev.Time, LastSeen: ev.Time}
	if ev.Type == events.TypeConnected {
		out[ev.CID] = registry.Logged{Rec: rec}
		return
	}
	why, ok := protocol.Reason(0), ev.Reason != nil
	if ok {
		why, ok = protocol.ParseReason(*ev.Reason)
	}
	if !ok {
		delete(out, ev.CID)
		return
	}
	if ev.ConnectedAt != nil {
		rec.ConnectedAt = *ev.ConnectedAt
	}
	rec.CStatus, rec.Reason, rec.DisconnectedAt = false, why, ev.Time
	out[ev.CID] = registry.Logged{Rec: rec, Ended: true}
}
