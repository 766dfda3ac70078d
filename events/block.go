package events

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A block is one value of the log's bucket: the JSON of consecutive
// events, one a line ('\n' between them; our encoder escapes newlines in
// strings, so a line is an event), under the seq of its first event, 8
// bytes big endian. The writer puts one block per quarter of a page of
// events (~4 KiB in the log's 16 KiB pages, ~1 KiB in an earlier build's
// 4 KiB ones: see logPageSize) instead of one key per event: a bbolt Put is a
// cursor descent and an insert into the leaf's in-memory node, and per
// event those were half of the writer's CPU (BenchmarkLogAppend). A block of one event is exactly
// what earlier builds stored per key, so their files read as they are.

// blockMax is the most bytes of one block's value: four blocks of this
// size (each with its 16-byte element and 8-byte key) fill one page after
// its 16-byte header. bbolt never splits a node of four values or fewer
// (twice its two a page), so with half-page blocks a commit's last leaf,
// three or four blocks, was a page of two, which bbolt makes anew (32 KiB)
// at every commit where a page of one comes from its pool: ~10 B an event
// of a paced stream's garbage, a third of it in Puts again
// (docs/performance-journal.md, "Session 22"). With blocks of four pages the
// commit's copies cost what the saved Puts did.
func blockMax(pageSize int) int { return (pageSize-16)/4 - 16 - 8 }

// blockEach calls f for each event of the block (k, v) whose seq is in
// [from, to], in order, until f returns false; it reports whether f asked
// to stop. A block whose key is not 8 bytes is corrupt.
func blockEach(k, v []byte, from, to uint64, f func(seq uint64, js []byte) bool) (bool, error) {
	if len(k) != 8 {
		return false, fmt.Errorf("%w: a key of %d bytes", ErrCorrupt, len(k))
	}
	seq := binary.BigEndian.Uint64(k)
	for more := len(v) > 0; more && seq <= to; seq++ {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:] // a newline is followed by an event, even at the end
		} else {
			more = false
		}
		if seq < from {
			continue
		}
		if len(line) == 0 || line[0] != '{' {
			return false, fmt.Errorf("%w %x: event %d is not a JSON object", ErrCorrupt, k, seq)
		}
		if !f(seq, line) {
			return true, nil
		}
	}
	return false, nil
}

// blockLast is the seq of the block's last event.
func blockLast(k, v []byte) uint64 {
	return binary.BigEndian.Uint64(k) + uint64(bytes.Count(v, []byte{'\n'}))
}

// seekBlock is a cursor on the block that holds seq (or, when none does,
// the first block after it), with that block's key and value; nil k when
// no block holds seq or follows it.
func seekBlock(b *bolt.Bucket, seq uint64) (*bolt.Cursor, []byte, []byte) {
	c := b.Cursor()
	k, v := c.Seek(seqKey(seq))
	if k != nil && binary.BigEndian.Uint64(k) == seq {
		return c, k, v
	}
	// The block before the first key past seq may hold it.
	var pk, pv []byte
	if k == nil {
		pk, pv = c.Last()
	} else {
		pk, pv = c.Prev()
	}
	if len(pk) == 8 && blockLast(pk, pv) >= seq {
		return c, pk, pv
	}
	k, v = c.Seek(seqKey(seq)) // back to the first key past seq
	return c, k, v
}

// forEachFrom calls f with each event of b with seq >= from, in order,
// until f returns false or the events end. A first event after from (the
// retention deleted from) is a *GoneError.
func forEachFrom(b *bolt.Bucket, from uint64, f func(seq uint64, js []byte) bool) error {
	c, k, v := seekBlock(b, from)
	if len(k) == 8 && binary.BigEndian.Uint64(k) > from {
		return &GoneError{Oldest: binary.BigEndian.Uint64(k)}
	}
	for ; k != nil; k, v = c.Next() {
		stop, err := blockEach(k, v, from, ^uint64(0), f)
		if err != nil || stop {
			return err
		}
	}
	return nil
}
