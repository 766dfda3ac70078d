package webhook

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A FileCursor's file is two slots, slotStride apart (each in a sector and
// a page of its own, so that writing one never rewrites the other), each:
//
//	magic [8] | gen u64 | acked u64 | first u64 | last u64 | crc32c u32
//
// little-endian, the CRC-32C over what precedes it. The valid slot of the
// higher gen is the state; slot gen%2 is written by save gen. An all-zero
// slot is empty (never written).
const (
	slotSize       = 44
	slotStride     = 4096
	cursorFileSize = 2 * slotStride
)

// slotAt is the offset of the slot that save gen writes.
func slotAt(gen uint64) int64 { return int64(gen%2) * slotStride }

var slotMagic = [8]byte{'c', 'l', 'i', 'w', 'h', 'c', 'u', '1'}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errDamaged: neither of the file's slots is whole, nor both empty.
var errDamaged = errors.New("neither slot is whole")

// errNotMade: the file was not yet created whole.
var errNotMade = errors.New("webhook cursor: file not made")

// slot is a decoded slot: a State and the save that wrote it.
type slot struct {
	State
	gen uint64
}

func encodeSlot(b []byte, gen uint64, st State) {
	copy(b, slotMagic[:])
	binary.LittleEndian.PutUint64(b[8:], gen)
	binary.LittleEndian.PutUint64(b[16:], st.Acked)
	binary.LittleEndian.PutUint64(b[24:], st.First)
	binary.LittleEndian.PutUint64(b[32:], st.Last)
	binary.LittleEndian.PutUint32(b[40:], crc32.Checksum(b[:40], crcTable))
}

// decodeSlot reads a slot: ok is false for an empty slot, err non-nil for
// one that is neither empty nor whole (a torn write, damage).
func decodeSlot(b []byte) (s slot, ok bool, err error) {
	if len(b) != slotSize {
		return slot{}, false, fmt.Errorf("webhook cursor: slot of %d bytes", len(b))
	}
	if [slotSize]byte(b) == [slotSize]byte{} { // empty: never written
		return slot{}, false, nil
	}
	if [8]byte(b[:8]) != slotMagic || crc32.Checksum(b[:40], crcTable) != binary.LittleEndian.Uint32(b[40:]) {
		return slot{}, false, errors.New("webhook cursor: a slot is not whole")
	}
	s = slot{gen: binary.LittleEndian.Uint64(b[8:]), State: State{
		Acked: binary.LittleEndian.Uint64(b[16:]),
		First: binary.LittleEndian.Uint64(b[24:]),
		Last:  binary.LittleEndian.Uint64(b[32:]),
	}}
	if s.gen == 0 || s.First > s.Last {
		return slot{}, false, fmt.Errorf("webhook cursor: slot of save %d, batch %d-%d: not valid", s.gen, s.First, s.Last)
	}
	return s, true, nil
}

// newestSlot is the state of a file's two slots: the whole one of the
// higher gen. One slot not whole beside an empty one is the first save,
// torn: nothing was stored. Neither whole, and not both empty, is damage.
func newestSlot(a, b []byte) (slot, bool, error) {
	sa, okA, errA := decodeSlot(a)
	sb, okB, errB := decodeSlot(b)
	switch {
	case okA && okB:
		if sb.gen > sa.gen {
			return sb, true, nil
		}
		return sa, true, nil
	case okA:
		return sa, true, nil
	case okB:
		return sb, true, nil
	case errA != nil && errB != nil:
		return slot{}, false, fmt.Errorf("%w: slot 0: %w; slot 1: %w", errDamaged, errA, errB)
	}
	return slot{}, false, nil
}
