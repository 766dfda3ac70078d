package logstore

import (
	"bytes"
	"fmt"
	"hash/maphash"
)

// lastEntries is each cid's last entry in the log: an open-addressing
// table of offsets into the mapped log, off the Go heap. Load and a
// compaction fold the snapshot and the log through it (merge).
type lastEntries struct {
	log   []byte
	slots []uint64 // 0: empty; else offset + 1 | tag | taken
	mem   []byte
	seed  maphash.Seed
}

// A slot: the entry's offset + 1 in its low offsetBits (a log of up to a
// TiB), then bits of the cid's hash (a probe that meets another cid reads
// the log only when they match, 1 in 2^23), then taken: the snapshot held
// the cid.
const (
	offsetBits = 40
	offsetMask = 1<<offsetBits - 1
	tagMask    = (1<<63 - 1) &^ offsetMask
	taken      = 1 << 63
)

func newLastEntries(log []byte, entries int) (*lastEntries, error) {
	n := 64
	for n < 2*entries {
		n *= 2
	}
	slots, mem, err := mapTable(n)
	if err != nil {
		return nil, fmt.Errorf("map a table of %d slots: %w", n, err)
	}
	t := &lastEntries{log: log, slots: slots, mem: mem, seed: maphash.MakeSeed()}
	_, err = scanLog(log, func(at int, e entry) error {
		i, _, tag := t.find(e.cid)
		t.slots[i] = uint64(at) + 1 | tag
		return nil
	})
	if err != nil {
		t.release()
		return nil, err
	}
	return t, nil
}

func (t *lastEntries) release() { unmap(t.mem) }

// find returns cid's slot, or the empty slot where it would go, and the
// cid's tag.
func (t *lastEntries) find(cid []byte) (int, bool, uint64) {
	h := maphash.Bytes(t.seed, cid)
	tag := h & tagMask
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := t.slots[i]
		if v == 0 {
			return int(i), false, tag
		}
		if v&tagMask == tag && bytes.Equal(t.entryAt(v&offsetMask-1).cid, cid) {
			return int(i), true, tag
		}
	}
}

// entryAt decodes the entry at offset at of the log, which scanLog
// checked.
func (t *lastEntries) entryAt(at uint64) entry {
	e, _, _ := decodeEntry(t.log[at:])
	return e
}

// take returns cid's last entry in the log, if it has one, and marks it
// written.
func (t *lastEntries) take(cid []byte) (entry, bool) {
	i, ok, _ := t.find(cid)
	if !ok {
		return entry{}, false
	}
	t.slots[i] |= taken
	return t.entryAt(t.slots[i]&offsetMask - 1), true
}

// rest calls fn with the last entry of each cid not taken, in no order.
func (t *lastEntries) rest(fn func(entry) error) error {
	for _, v := range t.slots {
		if v == 0 || v&taken != 0 {
			continue
		}
		if err := fn(t.entryAt(v&offsetMask - 1)); err != nil {
			return err
		}
	}
	return nil
}
