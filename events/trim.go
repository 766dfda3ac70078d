package events

import (
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// The retention: the oldest events let go of, whole blocks at a time, in
// the writer's transactions and after them.

// retainedFrom is the oldest seq the retention keeps when newest is the
// newest. Blocks are deleted whole, so the file may still hold a few
// older events, in the block that holds this one: none is ever read.
func (l *Log) retainedFrom(newest uint64) uint64 {
	if r := uint64(l.opts.retention); newest > r {
		return newest - r + 1
	}
	return 1
}

// trimIn lets go of what the retention no longer keeps once newest is the
// newest, in the writer's transaction on evs: in one of its own it was as
// many commits again, each two fdatasyncs and its pages, once the log held
// its retention. It returns the new oldest seq, 0 when none; one that
// fails here is left to trim, which reports it.
func (l *Log) trimIn(evs *bolt.Bucket, newest uint64) uint64 {
	if upTo := l.trimTarget(newest); upTo > 0 && deleteBefore(evs, upTo) == nil {
		return upTo
	}
	return 0
}

// trim forgets the oldest events beyond the retention, at most a chunk
// per transaction, with their index entries, and deletes the blocks that
// hold only such events. The writer's transactions trim as they go (see
// trimIn): this is for the rest, beyond a chunk past the oldest (a first
// transaction, a retention lowered at a reopen) and a trim that failed
// there.
func (l *Log) trim() {
	for {
		upTo := l.trimTarget(l.n.newest.Load())
		if upTo == 0 {
			if l.trimFault.OK() {
				l.opts.log.Info("events: deleting events past the retention works again")
			}
			return
		}
		err := l.update(func(tx *bolt.Tx) error {
			if err := deleteBefore(tx.Bucket(bucketEvents), upTo); err != nil {
				return err
			}
			l.storeBytes.Store(tx.Size())
			return nil
		})
		if err != nil {
			// It runs after each commit: a fault that lasts is one line, and
			// counted each time.
			l.m.storeErrors.Inc()
			log := l.opts.log.Debug
			if l.trimFault.Fail() {
				log = l.opts.log.Error
			}
			log("events: deleting events past the retention failed; retrying with the next batch", zap.Error(err))
			return
		}
		l.trimmedTo(upTo)
	}
}

// trimmedTo shows readers that the events before oldest are gone: through
// Oldest, and from the index by cid.
func (l *Log) trimmedTo(oldest uint64) {
	l.oldest.Store(oldest)
	l.idx.drop(oldest)
}

// trimTarget is the new oldest seq once newest is the newest, at most a
// chunk past the oldest kept: 0 when the retention lets go of nothing.
func (l *Log) trimTarget(newest uint64) uint64 {
	oldest, target := l.oldest.Load(), l.retainedFrom(newest)
	if oldest == 0 || target <= oldest {
		return 0
	}
	return min(target, oldest+writeChunk)
}

// deleteBefore deletes the blocks of evs that hold only events before
// upTo, oldest first. On an error the blocks deleted so far stay deleted
// in the transaction: they hold only such events.
func deleteBefore(evs *bolt.Bucket, upTo uint64) error {
	c := evs.Cursor()
	for k, v := c.First(); len(k) == 8 && blockLast(k, v) < upTo; k, v = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
