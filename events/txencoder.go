package events

import (
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/jsonenc"
)

// txEncoder lays one transaction's events out as blocks (block.go) in the
// writer's arena and puts each block into the bucket as it closes. bbolt
// keeps the key and value slices until the commit: the arena's chunks
// hold them all, reused by the next transaction.
type txEncoder struct {
	evs      *bolt.Bucket
	arena    *arena
	ids      *idWriter
	times    *jsonenc.TimeWriter
	blockMax int
	perEvent int    // arena bytes an event, to size a new chunk
	buf      []byte // the open chunk
	offs     []int  // each event's JSON in its chunk, start and end
	key, val int    // the open block's key and value in buf; key < 0: none open
	closed   int    // bytes of the chunks closed
	events   int    // of the transaction
	left     int    // events not encoded yet
}

// newTxEncoder is the writer's encoder for a transaction of n events.
func (l *Log) newTxEncoder(n int) txEncoder {
	offs := l.offs[:0]
	if cap(offs) < 2*n {
		offs = make([]int, 0, 2*roundUp(n, logChunk/8))
	}
	return txEncoder{arena: &l.arena, ids: &l.ids, times: &l.times, blockMax: l.blockMax, perEvent: l.perEvent,
		offs: offs, key: -1, events: n, left: n}
}

// encode puts the events of blocks into evs, giving them the seqs from
// first on.
func (e *txEncoder) encode(evs *bolt.Bucket, blocks [][]queued, first uint64) error {
	e.evs, e.buf = evs, e.arena.next(e.left*e.perEvent)
	seq := first
	for _, b := range blocks {
		for i := range b {
			if err := e.add(&b[i], seq); err != nil {
				return err
			}
			seq++
		}
	}
	if err := e.putBlock(); err != nil {
		return err
	}
	e.closeChunk()
	return nil
}

// bytesPerEvent is what the transaction's events took of the arena, for
// sizing the next transaction's chunks.
func (e *txEncoder) bytesPerEvent() int { return e.closed/e.events + 1 }

// add encodes q's event as event seq, in the open block or a new one.
func (e *txEncoder) add(q *queued, seq uint64) error {
	if cap(e.buf)-len(e.buf) < arenaRoom {
		if err := e.nextChunk(); err != nil {
			return err
		}
	}
	e.left--
	ev := q.event()
	ev.Seq = seq
	nl := e.startLine(seq)
	start := len(e.buf)
	var err error
	if e.buf, err = appendJSON(e.buf, &ev, e.ids, e.times); err != nil {
		return fmt.Errorf("events: seq %d: %w", seq, err)
	}
	if nl >= 0 && len(e.buf)-e.val > e.blockMax {
		if start, err = e.splitAt(nl, start, seq); err != nil {
			return err
		}
	}
	e.offs = append(e.offs, start, len(e.buf))
	return nil
}

// startLine opens a block keyed seq when none is open, else starts a new
// line of the open one; it returns where that line's '\n' is (-1: none).
func (e *txEncoder) startLine(seq uint64) int {
	if e.key < 0 {
		e.key = len(e.buf)
		e.buf = binary.BigEndian.AppendUint64(e.buf, seq)
		e.val = len(e.buf)
		return -1
	}
	e.buf = append(e.buf, '\n')
	return len(e.buf) - 1
}

// splitAt ends the open block before event seq, too large with it (its
// '\n' at nl, its JSON from start to the end of buf), and opens the next
// block with that event: the key where the newline was, the JSON moved 7
// bytes on. It returns where the JSON starts now.
func (e *txEncoder) splitAt(nl, start int, seq uint64) (int, error) {
	end := len(e.buf)
	e.buf = e.buf[:nl]
	if err := e.putBlock(); err != nil {
		return 0, err
	}
	e.buf = slices.Grow(e.buf[:end], 7)[:end+7]
	copy(e.buf[start+7:], e.buf[start:end])
	binary.BigEndian.PutUint64(e.buf[nl:], seq)
	e.key, e.val = nl, nl+8
	return start + 7, nil
}

// putBlock puts the open block, if any, into the bucket. A chunk that
// grew moved: the slices put before stay valid in the old array, this
// one points into the new.
func (e *txEncoder) putBlock() error {
	if e.key < 0 {
		return nil
	}
	end := len(e.buf)
	err := e.evs.Put(e.buf[e.key:e.val:e.val], e.buf[e.val:end:end])
	e.key = -1
	return err
}

// nextChunk ends the full chunk, and its open block with it, and takes
// the next one for the events left.
func (e *txEncoder) nextChunk() error {
	if err := e.putBlock(); err != nil {
		return err
	}
	e.closeChunk()
	e.buf = e.arena.next(e.left * e.perEvent)
	return nil
}

// closeChunk hands the open chunk back to the arena, which holds it until
// the commit.
func (e *txEncoder) closeChunk() {
	e.arena.close(e.buf, len(e.offs))
	e.closed += len(e.buf)
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
