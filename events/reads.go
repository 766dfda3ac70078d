package events

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The log's readers: by seq (Read, ReadRaw, Wait) and by client (ReadCID,
// LatestCID, History), each in a read transaction of its own, beside the
// writer's.

// Wait returns nil once an event with Seq > after exists, or ctx's error.
func (l *Log) Wait(ctx context.Context, after uint64) error {
	return waitFor(ctx, l.n, after)
}

func waitFor(ctx context.Context, n *notifier, after uint64) error {
	for {
		ch := n.changed()
		if n.newest.Load() > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// goneBefore reports whether the events after `after` are no longer all
// kept, oldest (0 for none) being the oldest kept: after+1 is below it.
// Not written as after+1, which wraps to 0 for the last seq there can be
// (a Last-Event-ID or ?after= of 18446744073709551615 was answered 410).
func goneBefore(after, oldest uint64) bool { return oldest > 0 && after < oldest-1 }

// gone is the answer to a reader after `after` whose events are no longer
// all kept: below the oldest kept, or before the gap an older events.db
// put back left (floor.go); nil when they are.
func (l *Log) gone(after uint64) *GoneError {
	if oldest := l.oldest.Load(); goneBefore(after, oldest) {
		return &GoneError{Oldest: oldest}
	}
	if after < l.gapTo {
		return &GoneError{Oldest: l.gapTo + 1}
	}
	return nil
}

// Read returns up to limit events with Seq > after, oldest first, or a
// *GoneError when after+1 is below the oldest seq kept.
func (l *Log) Read(ctx context.Context, after uint64, limit int) ([]Event, error) {
	out, err := l.read(ctx, after, limit)
	return out, l.damaged(err)
}

// ReadUnlogged is Read for a caller that reports a damaged event itself,
// with the same file and remedy in the error: the start, which refuses a
// damaged tail with one message (its exit line), not that and a log line.
func (l *Log) ReadUnlogged(ctx context.Context, after uint64, limit int) ([]Event, error) {
	out, err := l.read(ctx, after, limit)
	return out, l.damagedErr(err)
}

func (l *Log) read(ctx context.Context, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Event
	err := l.scan(ctx, after, limit, func(seq uint64, js []byte) error {
		ev, err := decodeEvent(seq, js)
		out = append(out, ev)
		return err
	})
	return out, err
}

// scan calls f with up to limit events with Seq > after, oldest first, in
// a read transaction (js is bbolt's: valid only during the call), or
// returns a *GoneError when after+1 is below the oldest seq kept.
func (l *Log) scan(ctx context.Context, after uint64, limit int, f func(seq uint64, js []byte) error) error {
	// An event is visible once Newest says so, not when its transaction
	// commits a moment before: a reader that saw it could otherwise ask
	// for "only new events" and still be sent it.
	newest := l.n.newest.Load()
	if gone := l.gone(after); gone != nil {
		return gone
	}
	if after >= newest {
		return nil
	}
	defer l.readMapped() // a reader far behind reads the whole file through the map
	l.dbMu.RLock()       // see keepPlaced
	defer l.dbMu.RUnlock()
	return l.view(func(tx *bolt.Tx) error {
		var ferr error
		err := forEachFrom(tx.Bucket(bucketEvents), after+1, func(seq uint64, js []byte) bool {
			if limit == 0 || seq > newest {
				return false
			}
			limit--
			ferr = f(seq, js)
			return ferr == nil
		})
		if err != nil {
			return err
		}
		if ferr != nil {
			return ferr
		}
		return ctx.Err()
	})
}

// readMapped marks the map read by a reader and wakes the idle writer,
// which lets go of the pages in time (see mapped).
func (l *Log) readMapped() {
	if l.mapped.touched() {
		select {
		case l.q.wake <- struct{}{}:
		default:
		}
	}
}

// ReadRaw is Read without decoding: each event's stored JSON, copied into
// one buffer for the whole answer, from memory while the events are among
// the newest (see recent), else out of a read transaction.
func (l *Log) ReadRaw(ctx context.Context, after uint64, limit int) ([]Raw, error) {
	out, _, err := l.AppendRaw(ctx, nil, nil, after, limit)
	return out, err
}

// AppendRaw implements RawReader.
func (l *Log) AppendRaw(ctx context.Context, out []Raw, buf []byte, after uint64, limit int) ([]Raw, []byte, error) {
	if limit <= 0 {
		return out, buf, nil
	}
	newest := l.n.newest.Load() // see scan
	if gone := l.gone(after); gone != nil {
		return out, buf, gone
	}
	if out, buf, ok := l.recent.read(out, buf, after, newest, limit); ok {
		return out, buf, ctx.Err()
	}
	err := l.scan(ctx, after, limit, func(seq uint64, js []byte) error {
		out, buf = appendRaw(out, buf, seq, js)
		return nil
	})
	return out, buf, err
}

// appendRaw adds the event seq, its JSON copied to the end of buf.
func appendRaw(out []Raw, buf []byte, seq uint64, js []byte) ([]Raw, []byte) {
	buf = append(buf, js...)
	return append(out, Raw{Seq: seq, JSON: buf[len(buf)-len(js) : len(buf) : len(buf)]}), buf
}

// ReadCID is Read for the events of one client, from the index by cid.
func (l *Log) ReadCID(ctx context.Context, cid string, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	if gone := l.gone(after); gone != nil {
		return nil, gone
	}
	seqs, _ := l.idx.chain(cid, 0, after, math.MaxInt)
	slices.Reverse(seqs)
	return l.get(ctx, cid, seqs, limit)
}

// LatestCID returns up to limit events of cid, newest first, from the
// index: a chunk of its slot's chain at a time, until limit are cid's.
func (l *Log) LatestCID(ctx context.Context, cid string, limit int) ([]Event, error) {
	var out []Event
	for from := uint64(0); len(out) < limit; {
		seqs, next := l.idx.chain(cid, from, 0, limit-len(out))
		evs, err := l.get(ctx, cid, seqs, limit-len(out))
		out = append(out, evs...)
		if err != nil || next == 0 {
			return out, err
		}
		from = next
	}
	return out, nil
}

// get reads the events of seqs, in that order, that are cid's (the index
// gives other clients' too), up to limit; one deleted meanwhile by the
// retention is left out.
func (l *Log) get(ctx context.Context, cid string, seqs []uint64, limit int) ([]Event, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	newest, oldest := l.n.newest.Load(), l.oldest.Load() // see scan
	var out []Event
	l.dbMu.RLock() // see keepPlaced
	defer l.dbMu.RUnlock()
	err := l.view(func(tx *bolt.Tx) error {
		evs := tx.Bucket(bucketEvents)
		for _, seq := range seqs {
			if len(out) == limit {
				break
			}
			if seq > newest || seq < oldest {
				continue
			}
			_, k, v := seekBlock(evs, seq)
			var derr error
			if _, err := blockEach(k, v, seq, seq, func(seq uint64, js []byte) bool {
				var ev Event
				if ev, derr = decodeEvent(seq, js); derr == nil && ev.CID == cid {
					out = append(out, ev)
				}
				return false
			}); err != nil && k != nil {
				return l.damaged(err)
			}
			if derr != nil {
				return l.damaged(derr)
			}
		}
		return ctx.Err()
	})
	return out, err
}

// History is cid's last sessions, newest first, built from its events.
func (l *Log) History(ctx context.Context, cid string, limit int) ([]Session, error) {
	return history(ctx, l.LatestCID, cid, limit)
}

// decodeEvent reads the event seq, stored as js. Errors wrap ErrCorrupt.
func decodeEvent(seq uint64, js []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(js, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: event %d: %w", ErrCorrupt, seq, err)
	}
	if ev.Seq != seq {
		return Event{}, fmt.Errorf("%w: event %d holds seq %d", ErrCorrupt, seq, ev.Seq)
	}
	return ev, nil
}
