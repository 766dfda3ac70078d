package events

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/mono"
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
	defer l.stored.advance(0) // Stored's waiters see the writer gone
	var committed time.Time
	backoff := 100 * time.Millisecond
	for {
		l.keepPlaced(false)
		if wait := l.opts.commitEvery - time.Since(committed); wait > 0 && l.q.len() < logChunk && !l.q.isClosed() &&
			l.stored.urgent.Load() == 0 {
			l.pace(wait)
		}
		// Closed is read before the take: a push after the close is
		// refused, so a closed queue's take has every event there is. Read
		// after a take that found nothing, it could see a close that came
		// with events queued meanwhile, and end the writer without them.
		closed := l.q.isClosed()
		l.blocks = l.q.takeBlocks(l.blocks, logChunk)
		if len(l.blocks) > 0 {
			l.writeStart.Store(mono.Now())
			err := l.write(l.blocks)
			l.writeStart.Store(0)
			if err != nil {
				if l.writeFailed(err, &backoff) {
					return
				}
				continue
			}
			backoff, committed = 100*time.Millisecond, time.Now()
			l.q.wrote()
			n := countEvents(l.blocks)
			l.afterCommit()
			l.stored.advance(n)
			continue // more may have come meanwhile
		}
		if closed {
			return
		}
		l.idle(committed)
	}
}

// pace waits out the rest of the writer's pace, or less: a Stored call
// (an operator's answer waits on it) or Close cuts it short. A sleep
// held each such answer up to commitEvery: a script adding bans or
// credentials one after another got ten a second, not a hundred.
func (l *Log) pace(d time.Duration) {
	if l.paceTimer == nil {
		l.paceTimer = time.NewTimer(d)
	} else {
		l.paceTimer.Reset(d) // Go 1.23's timers: no stale tick after a Stop
	}
	select {
	case <-l.paceTimer.C:
	case <-l.urge:
		l.paceTimer.Stop()
	}
}

// urgeWriter cuts the writer's pace short (pace), now or at its next.
func (l *Log) urgeWriter() {
	select {
	case l.urge <- struct{}{}:
	default:
	}
}

// writeFailed puts the blocks back to be written again, counts the fault
// and reports it (logged once, for /readyz), and waits out the backoff.
// It reports whether the log closed meanwhile.
func (l *Log) writeFailed(err error, backoff *time.Duration) bool {
	l.q.putBackBlocks(l.blocks)
	l.m.storeErrors.Inc()
	if !l.failing.Load() {
		l.fault.Store(fmt.Sprintf("since %s: %v", time.Now().UTC().Format(time.RFC3339), err))
		l.failing.Store(true)
		l.opts.log.Error("events: writing to the log failed; the events wait in memory and the write is retried",
			zap.Error(err), zap.Int("waiting", l.q.len()))
	}
	l.stored.advance(0) // after failing is set: Stored's waiters woken see it, not a wait out the backoff
	return l.q.retryAfter(backoff, l.opts.log)
}

// afterCommit says a fault is over, hands the queue's blocks back, trims
// what the transaction left to trim and lets go of the map's pages in time.
func (l *Log) afterCommit() {
	if l.failing.Swap(false) {
		l.opts.log.Info("events: writes to the log work again; the waiting events are written",
			zap.Uint64("newest_seq", l.n.newest.Load()), zap.Uint64("dropped_so_far", l.q.dropped.Load()))
	}
	l.q.written(l.blocks)
	l.trim()
	l.mapped.touched()
	l.releaseMappedDue()
	l.spareHeld.Store(int64(l.spareBytes()))
}

// idle waits for the next event, letting go of the map's pages and the
// spare buffers when they are due.
func (l *Log) idle(committed time.Time) {
	select {
	case <-l.q.wake:
	case <-l.check.C: // keepPlaced, at the loop's top
	case <-l.mapped.due():
		l.releaseMappedDue()
	case <-l.spares.due(l.spareHeld.Load() > 0, committed):
		if time.Since(committed) >= spareIdle {
			l.dropSpares()
		}
	}
}

// write stores the events of blocks (at most logChunk) in one
// transaction, giving each event the next seq; consecutive events share a
// bbolt value (see block.go). On error nothing is kept, to be tried
// again (a queued event holds no seq).
func (l *Log) write(blocks [][]queued) error {
	n := countEvents(blocks)
	first := l.n.newest.Load() + 1
	last := first + uint64(n) - 1
	if err := l.floor.cover(first-1, last); err != nil {
		return err // as a failed commit: the events wait, and the fault is said
	}
	enc := l.newTxEncoder(n)
	trimmed := uint64(0) // the new oldest, when this transaction trimmed
	err := l.update(func(tx *bolt.Tx) error {
		evs := tx.Bucket(bucketEvents)
		// Seqs only grow: pages filled to the brim, not split in half as
		// for random keys (half the file, fewer splits).
		evs.FillPercent = 1.0
		if err := enc.encode(evs, blocks, first); err != nil {
			return err
		}
		l.perEvent = enc.bytesPerEvent()
		trimmed = l.trimIn(evs, last)
		l.storeBytes.Store(tx.Size())
		return tx.Bucket(bucketMeta).Put(keyNewest, seqKey(last))
	})
	if err != nil {
		l.arena.release()
		return err
	}
	l.offs = enc.offs
	l.floor.landed(last) // before the readers see it: when a test sees last, so does the file
	l.committed(blocks, first, last, trimmed)
	return nil
}

// countEvents is how many events blocks hold.
func countEvents(blocks [][]queued) int {
	n := 0
	for _, b := range blocks {
		n += len(b)
	}
	return n
}

// committed shows the events first to last, written, to the readers: in
// the index by cid, in recent, and through Oldest and Newest.
func (l *Log) committed(blocks [][]queued, first, last, trimmed uint64) {
	seq := first
	for _, b := range blocks {
		l.idx.addBlock(b, seq)
		seq += uint64(len(b))
	}
	l.keepRecent(first)
	if l.oldest.Load() == 0 {
		l.oldest.Store(first)
	}
	if trimmed > 0 {
		l.trimmedTo(trimmed)
	}
	l.n.advance(last)
}

// keepRecent copies the committed events, from seq first on, out of the
// arena's chunks into recent (bbolt holds the chunks no more), and takes
// the chunks back for the next transaction.
func (l *Log) keepRecent(first uint64) {
	o0 := 0
	for _, u := range l.arena.used {
		l.recent.add(first+uint64(o0/2), u.buf, l.offs[o0:u.offs])
		o0 = u.offs
	}
	l.arena.release()
}
