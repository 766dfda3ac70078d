package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// loggedTail is how many of the log's newest events a start reads to
// weigh the registry's store against (registry.Logged). The store lags
// the log by a flush (250 ms): a reconnect storm's quarter second is some
// 10,000 events; reading 32,768 takes tens of milliseconds, once.
const loggedTail uint64 = 32768

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

// priorSince is where the last run's ends begin to count in the stats:
// the window before now, or before the log's newest event when that is
// later. The clock was set back since (an NTP step, a wrong clock at
// boot): from now's window, every end the log holds was in it, and the
// overview counted a whole run's ends as its last minutes' (clock audit).
func priorSince(ctx context.Context, l *events.Log, now time.Time) time.Time {
	end := now
	if newest := l.Newest(); newest > 0 {
		raws, _, err := l.AppendRaw(ctx, nil, nil, newest-1, 1)
		if err == nil && len(raws) == 1 && raws[0].Time().After(now) {
			end = raws[0].Time()
		}
	}
	return end.Add(-admin.StatsWindow)
}

// loggedSessions is the newest session of each client ID among the
// single-node log's last loggedTail events, and the first one's time. A
// client whose newest events there lack a session (an earlier build's)
// or end for a reason this version does not know is marked Unread: Load
// goes by its record alone. It also counts the ends logged from since on.
func loggedSessions(ctx context.Context, l *events.Log, since time.Time) (registry.LogTail, priorEnds, error, error) {
	return loggedSessionsTail(ctx, l, since, loggedTail, priorReadMax)
}

// loggedSessionsTail is loggedSessions over the log's newest tail events.
// The ends from since on are counted however many events the log holds
// after them (priorBefore), not only those of the tail, up to readMax
// events before it. short says why the ends counted are a floor, nil when
// they are all the window's: errPriorCapped, or a read that failed.
func loggedSessionsTail(ctx context.Context, l *events.Log, since time.Time, tail, readMax uint64) (
	_ registry.LogTail, _ priorEnds, short, _ error) {
	prior := priorEnds{}
	newest := l.Newest()
	after := newest - min(newest, tail)
	// Not before the oldest kept: a log begun anew after its floor
	// (events.seq) or a small --event-retention keeps fewer, and reading
	// from before them is a 410 that skipped the whole tail.
	if oldest := l.Oldest(); oldest > 0 {
		after = max(after, oldest-1)
	}
	out := map[string]registry.Logged{}
	tailFrom := after
	var tailBegins time.Time // the time of the tail's first event
	for after < newest {
		evs, err := l.ReadUnlogged(ctx, after, 1000) // a damaged one refuses the start, which says so
		if err != nil {
			return registry.LogTail{}, prior, nil, err
		}
		if len(evs) == 0 {
			break
		}
		if tailBegins.IsZero() {
			tailBegins = evs[0].Time
		}
		for _, ev := range evs {
			noteSession(out, ev)
			if ev.Type == events.TypeDisconnected && ev.Reason != nil && !ev.Time.Before(since) {
				prior.add(ev.Time, *ev.Reason)
			}
		}
		after = evs[len(evs)-1].Seq
	}
	if !tailBegins.IsZero() && !tailBegins.Before(since) {
		// The tail lies wholly inside the window: the ends before it
		// count too. A window of more events than the tail (a reconnect
		// storm of a large fleet, two restarts of it within the
		// window) had them missed, and the stats after the start said a
		// fraction of the ends the log held.
		short = priorBefore(ctx, l, tailFrom, since, tail, readMax, prior)
	}
	return registry.LogTail{Sessions: out, From: tailBegins}, prior, short, nil
}

// priorReadMax bounds the events priorBefore reads, so that a start after
// a storm is not held up for the stats' sake: a window of 1,000,000
// events (500,000 ends) took 2.5 s to count, 0.7 s with this bound. Past
// it the counts are a floor, and the start says so.
const priorReadMax = 8 * loggedTail

// priorBefore adds to prior the ends from since on among the log's events
// up to seq hi, reading back from hi a window of step events at a time,
// without decoding any but the ends, until a window reaches back before
// since or to the oldest event kept: it reads the window's events, not
// the whole log, and at most limit of them (errPriorCapped: the window
// went on before them). A read that fails stops the count and is returned
// (the figures are the stats', not a session's: no reason to refuse a
// start, but one to say so).
func priorBefore(ctx context.Context, l *events.Log, hi uint64, since time.Time, step, limit uint64, prior priorEnds) (short error) {
	var floor uint64
	if oldest := l.Oldest(); oldest > 0 {
		floor = oldest - 1
	}
	stop := max(floor, hi-min(hi, limit))
	var raws []events.Raw
	var buf []byte
	var err error
	for hi > stop {
		lo := hi - min(hi-stop, step)
		older := false
		for at := lo; at < hi; {
			raws, buf, err = l.AppendRaw(ctx, raws[:0], buf[:0], at, int(min(hi-at, 1000)))
			if err != nil {
				return fmt.Errorf("reading the events after seq %d: %w", at, err)
			}
			if len(raws) == 0 {
				return nil
			}
			for _, r := range raws {
				if r.Time().Before(since) {
					older = true
					continue
				}
				if typ, ok := r.Type(); ok && string(typ) != events.TypeDisconnected {
					continue
				}
				ev, err := r.Event()
				if err != nil {
					return fmt.Errorf("event %d: %w", r.Seq, err)
				}
				if ev.Type == events.TypeDisconnected && ev.Reason != nil {
					prior.add(ev.Time, *ev.Reason)
				}
			}
			at = raws[len(raws)-1].Seq
		}
		if older {
			return nil
		}
		hi = lo
	}
	if stop == floor {
		return nil
	}
	// Capped only when the window goes on: the next older event, not
	// read, is in it too.
	raws, _, err = l.AppendRaw(ctx, raws[:0], buf[:0], stop-1, 1)
	if err == nil && len(raws) == 1 && !raws[0].Time().Before(since) {
		return errPriorCapped
	}
	return nil
}

// errPriorCapped: the window held more events than priorReadMax.
var errPriorCapped = errors.New("the window holds more events than were read")

// noteSession updates out with one event of the log, in order.
func noteSession(out map[string]registry.Logged, ev events.Event) {
	if ev.Type != events.TypeConnected && ev.Type != events.TypeDisconnected {
		return
	}
	if ev.Session == "" {
		out[ev.CID] = registry.Logged{Unread: true}
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
		out[ev.CID] = registry.Logged{Unread: true}
		return
	}
	if ev.ConnectedAt != nil {
		rec.ConnectedAt = *ev.ConnectedAt
	}
	rec.CStatus, rec.Reason, rec.DisconnectedAt = false, why, ev.Time
	out[ev.CID] = registry.Logged{Rec: rec, Ended: true}
}
