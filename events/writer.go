package events

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// The writer: one goroutine that takes the queue's events and writes them
// in paced transactions, so that Append never waits on the disk.

// logChunk is the most events one transaction of the log writes: the
// writer keeps the transaction's arena for the next until the log is idle,
// so a storm's backlog written 8,192 at a time kept ~2.4 MB.
const logChunk = 2048

// commitEvery paces the writer's transactions while events keep coming:
// each commit is two fdatasyncs and a meta page whatever it holds, and a
// storm taken as it trickles in was hundreds of commits of a few events.
// An event that finds the writer idle is written at once; under load the
// writer gathers for at most this long (what a long-poll or a stream may
// then wait), so a storm is a few dozen commits of hundreds of events.
// A commit costs ~1 ms of CPU beyond its events' pages (the syncs, the
// meta and freelist pages, the newest leaf and its branches written
// again): at 50 ms that was ~1.4 µs an event of a burst's 14,000 a
// second, and at 100 ms it is half (BenchmarkLogAppendPaced, issue 17).
// It stays well inside the webhook's linger (200 ms by default).
const commitEvery = 100 * time.Millisecond

// run is the writer: it takes what is queued, writes it in one
// transaction per chunk, trims to the retention, and wakes the waiters.
func (l *Log) run() {
	defer close(l.done)
	var committed time.Time
	backoff := 100 * time.Millisecond
	for {
		if wait := commitEvery - time.Since(committed); wait > 0 && l.q.len() < logChunk && !l.q.isClosed() {
			time.Sleep(wait)
		}
		l.blocks = l.q.takeBlocks(l.blocks, logChunk)
		if len(l.blocks) > 0 {
			if err := l.write(l.blocks); err != nil {
				l.q.putBackBlocks(l.blocks)
				l.m.storeErrors.Inc()
				if !l.failing.Load() {
					l.fault.Store(fmt.Sprintf("since %s: %v", time.Now().UTC().Format(time.RFC3339), err))
					l.failing.Store(true)
					l.opts.log.Error("events: writing to the log failed; the events wait in memory and the write is retried",
						zap.Error(err), zap.Int("waiting", l.q.len()))
				}
				if l.q.retryAfter(&backoff, l.opts.log) {
					return
				}
				continue
			}
			if l.failing.Swap(false) {
				l.opts.log.Info("events: writes to the log work again; the waiting events are written",
					zap.Uint64("newest_seq", l.n.newest.Load()), zap.Uint64("dropped_so_far", l.q.dropped.Load()))
			}
			l.q.release(l.blocks)
			backoff = 100 * time.Millisecond
			committed = time.Now()
			l.trim()
			l.mapped.touched()
			l.mapped.releaseDue(l.db)
			l.spareHeld.Store(int64(l.spareBytes()))
			continue // more may have come meanwhile
		}
		if l.q.isClosed() {
			return
		}
		select {
		case <-l.q.wake:
		case <-l.mapped.due():
			l.mapped.releaseDue(l.db)
		case <-l.spares.due(l.spareHeld.Load() > 0, committed):
			if time.Since(committed) >= spareIdle {
				l.dropSpares()
			}
		}
	}
}

// write stores the events of blocks (at most logChunk) in one
// transaction, giving each event the next seq; consecutive events share a
// bbolt value (see block.go). On error nothing is kept, to be tried
// again (a queued event holds no seq).
func (l *Log) write(blocks [][]queued) error {
	n := 0
	for _, b := range blocks {
		n += len(b)
	}
	first := l.n.newest.Load() + 1
	next := first - 1
	offs := l.offs[:0]
	if cap(offs) < 2*n {
		offs = make([]int, 0, 2*roundUp(n, logChunk/8))
	}
	trimmed := uint64(0) // the new oldest, when this transaction trimmed
	err := l.db.Update(func(tx *bolt.Tx) error {
		evs := tx.Bucket(bucketEvents)
		// Seqs only grow: pages filled to the brim, not split in half as
		// for random keys (half the file, fewer splits).
		evs.FillPercent = 1.0
		// bbolt keeps the key and value slices until the commit: the
		// arena's chunks hold them all, reused by the next transaction.
		arena := l.arena.next(n * l.perEvent)
		k0, v0 := -1, 0 // the open block's key and value in arena
		put := func() error {
			if k0 < 0 {
				return nil
			}
			// A chunk that grew moved: the slices put before stay valid
			// in the old array, this one points into the new.
			err := evs.Put(arena[k0:v0:v0], arena[v0:len(arena):len(arena)])
			k0 = -1
			return err
		}
		written, done := 0, 0 // bytes of the chunks closed, events encoded
		for _, b := range blocks {
			for i := range b {
				if cap(arena)-len(arena) < arenaRoom {
					// The chunk is full: its open block ends here.
					if err := put(); err != nil {
						return err
					}
					l.arena.close(arena, len(offs))
					written += len(arena)
					arena = l.arena.next((n - done) * l.perEvent)
				}
				next++
				done++
				ev := b[i].event()
				ev.Seq = next
				nl := -1 // where the '\n' before this event is
				if k0 < 0 {
					k0 = len(arena)
					arena = binary.BigEndian.AppendUint64(arena, next)
					v0 = len(arena)
				} else {
					nl = len(arena)
					arena = append(arena, '\n')
				}
				s0 := len(arena)
				var err error
				if arena, err = appendJSON(arena, &ev, &l.ids, &l.times); err != nil {
					return fmt.Errorf("events: seq %d: %w", next, err)
				}
				if nl >= 0 && len(arena)-v0 > l.blockMax {
					// Too large with this event: the block ends before
					// it, and it starts the next one (its key where the
					// newline was).
					end := len(arena)
					arena = arena[:nl]
					if err := put(); err != nil {
						return err
					}
					arena = slices.Grow(arena[:end], 7)[:end+7]
					copy(arena[s0+7:], arena[s0:end])
					binary.BigEndian.PutUint64(arena[nl:], next)
					k0, v0, s0 = nl, nl+8, s0+7
				}
				offs = append(offs, s0, len(arena))
			}
		}
		if err := put(); err != nil {
			return err
		}
		l.arena.close(arena, len(offs))
		l.perEvent = (written+len(arena))/n + 1
		// What the retention lets go of goes in this transaction: in one
		// of its own it was as many commits again, each two fdatasyncs and
		// its pages, once the log held its retention. One that fails here
		// is left to trim, which reports it.
		if upTo := l.trimTarget(next); upTo > 0 && deleteBefore(evs, upTo) == nil {
			trimmed = upTo
		}
		l.storeBytes.Store(tx.Size())
		return tx.Bucket(bucketMeta).Put(keyNewest, seqKey(next))
	})
	if err != nil {
		l.arena.release()
		return err
	}
	seq := first
	for _, b := range blocks {
		l.idx.addBlock(b, seq)
		seq += uint64(len(b))
	}
	// Committed: bbolt holds the chunks no more; recent copies the events
	// out and the writer keeps them for the next transaction.
	o0 := 0
	for _, u := range l.arena.used {
		l.recent.add(first+uint64(o0/2), u.buf, offs[o0:u.offs])
		o0 = u.offs
	}
	l.arena.release()
	l.offs = offs
	if l.oldest.Load() == 0 {
		l.oldest.Store(first)
	}
	if trimmed > 0 {
		l.oldest.Store(trimmed)
		l.idx.drop(trimmed)
	}
	l.n.advance(next)
	return nil
}

// roundUp is n itself below small, else the next power of two: a
// trickle's one-event transactions do not take a burst's sizes.
func roundUp(n, small int) int {
	if n < small {
		return n
	}
	size := small
	for size < n {
		size <<= 1
	}
	return size
}
