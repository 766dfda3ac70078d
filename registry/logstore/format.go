package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The store's two files share one format.
//
// A file: an 8-byte header (a 6-byte magic, a zero, the format version),
// then frames. A frame: its payload's length (uint32), the payload's
// CRC-32C (uint32), then the payload, a run of entries. An entry:
//
//	'P' uvarint(len cid) cid uint32(len value) value   a record (codec.go)
//	'D' uvarint(len cid) cid                           a deletion
//	'E' uvarint(count)                                 the snapshot's end
//
// A log that follows a snapshot of any record begins with a frame that
// holds one deletion of snapMark, a cid no client has (a NUL byte): a
// start that finds it with no registry.snap refuses to start on the log
// alone. Earlier builds read it as a deletion of nothing, so the format
// version stays 1.
//
// All integers little-endian. The log's frames hold P and D entries, a
// Save's batch in one frame up to frameTarget (more past it), each
// checked as one: a crash inside a Save that never returned leaves a
// prefix of its frames, each a whole one. The snapshot's frames hold P entries only, each cid once, and its
// last frame is a lone E entry counting them: a snapshot that lacks it
// was cut short.

const (
	// formatVersion is the last byte of both headers. A file of another
	// version is refused with ErrVersion rather than misread.
	formatVersion = 1
	headerLen     = 8
	frameHead     = 8
	// maxFrame bounds a frame's payload: a Save encodes at most
	// pieceRecords records (a few hundred KB) at a time and a snapshot's
	// frame is frameTarget; a longer length is damage.
	maxFrame = 64 << 20
	// frameTarget is where a writer starts a new frame.
	frameTarget = 256 << 10
	// maxValue bounds one record's encoding: a few hundred bytes.
	maxValue = 1 << 20
)

// Entry kinds, an entry's first byte.
const (
	kindPut    = 'P'
	kindDelete = 'D'
	kindEnd    = 'E'
)

var (
	snapMagic = [headerLen]byte{'C', 'L', 'S', 'N', 'A', 'P', 0, formatVersion}
	logMagic  = [headerLen]byte{'C', 'L', 'S', 'L', 'O', 'G', 0, formatVersion}

	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// entry is one decoded entry; its slices point into the bytes it was
// decoded from.
type entry struct {
	kind  byte
	cid   []byte
	value []byte // a put's record encoding
	count uint64 // an end's record count
}

// snapMark is the cid of the deletion that opens a log written after a
// snapshot (see the format above).
const snapMark = "\x00snapshot"

// isSnapMark reports whether e is the log's snapshot mark.
func isSnapMark(e entry) bool { return e.kind == kindDelete && string(e.cid) == snapMark }

// appendDelete appends a deletion of cid.
func appendDelete(dst []byte, cid string) []byte {
	dst = append(dst, kindDelete)
	dst = binary.AppendUvarint(dst, uint64(len(cid)))
	return append(dst, cid...)
}

// appendPutHead appends a put's kind and cid and reserves its value's
// length; endPut fills the length in once the value is appended after it.
func appendPutHead(dst []byte, cid []byte) ([]byte, int) {
	dst = append(dst, kindPut)
	dst = binary.AppendUvarint(dst, uint64(len(cid)))
	dst = append(dst, cid...)
	return append(dst, 0, 0, 0, 0), len(dst) + 4
}

func endPut(dst []byte, valueAt int) []byte {
	binary.LittleEndian.PutUint32(dst[valueAt-4:], uint32(len(dst)-valueAt))
	return dst
}

// appendPut appends a put of cid with an encoded value.
func appendPut(dst, cid, value []byte) []byte {
	dst, at := appendPutHead(dst, cid)
	return endPut(append(dst, value...), at)
}

// appendEnd appends a snapshot's end entry.
func appendEnd(dst []byte, count uint64) []byte {
	return binary.AppendUvarint(append(dst, kindEnd), count)
}

// beginFrame reserves a frame's head at the end of dst; sealFrame fills it
// in once the frame's entries are appended.
func beginFrame(dst []byte) ([]byte, int) {
	return append(dst, make([]byte, frameHead)...), len(dst)
}

func sealFrame(dst []byte, at int) []byte {
	payload := dst[at+frameHead:]
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[at+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// decodeEntry reads the entry at the start of b and returns it and its
// length. It is a parser of bytes from disk, so it trusts nothing beyond
// the frame's checksum: errors wrap ErrCorrupt. It checks the framing
// only; the record is decodeRecord's.
func decodeEntry(b []byte) (entry, int, error) {
	if len(b) == 0 {
		return entry{}, 0, fmt.Errorf("%w: empty entry", ErrCorrupt)
	}
	e := entry{kind: b[0]}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || w != uvarintLen(n) {
		// (a number in more bytes than it needs is not what we write)
		return entry{}, 0, fmt.Errorf("%w: entry of kind %q has a bad length", ErrCorrupt, e.kind)
	}
	at := 1 + w
	switch e.kind {
	case kindEnd:
		e.count = n
		return e, at, nil
	case kindPut, kindDelete:
	default:
		return entry{}, 0, fmt.Errorf("%w: entry of kind %q", ErrCorrupt, e.kind)
	}
	if n == 0 || n > uint64(len(b)-at) {
		return entry{}, 0, fmt.Errorf("%w: entry of kind %q has a bad cid length", ErrCorrupt, e.kind)
	}
	e.cid = b[at : at+int(n) : at+int(n)]
	at += int(n)
	if e.kind == kindDelete {
		return e, at, nil
	}
	if len(b)-at < 4 {
		return entry{}, 0, fmt.Errorf("%w: put of %q has no value length", ErrCorrupt, e.cid)
	}
	v := binary.LittleEndian.Uint32(b[at:])
	at += 4
	if v == 0 || v > maxValue || int(v) > len(b)-at {
		return entry{}, 0, fmt.Errorf("%w: put of %q has a bad value length", ErrCorrupt, e.cid)
	}
	e.value = b[at : at+int(v) : at+int(v)]
	return e, at + int(v), nil
}

// uvarintLen is how many bytes binary.AppendUvarint writes for n.
func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// errShort marks a frame cut short by the end of the file.
var errShort = errors.New("short")

// checkHeader holds b's first bytes to the header want.
func checkHeader(b []byte, want [headerLen]byte) error {
	switch {
	case len(b) < headerLen:
		return fmt.Errorf("%w: %d bytes, shorter than its header", errShort, len(b))
	case !bytes.Equal(b[:headerLen-1], want[:headerLen-1]):
		return fmt.Errorf("%w: not a registry %s file (header %q)", ErrCorrupt, kindOfFile(want), b[:headerLen-1])
	case b[headerLen-1] != want[headerLen-1]:
		return fmt.Errorf("%w %d of the %s format (this build reads %d)", ErrVersion, b[headerLen-1], kindOfFile(want), want[headerLen-1])
	}
	return nil
}

func kindOfFile(magic [headerLen]byte) string {
	if magic == snapMagic {
		return "snapshot"
	}
	return "log"
}

// readFrame reads the frame at offset at of b and returns its payload and
// the next frame's offset. A frame past the end of b fails with errShort;
// a bad length or checksum with ErrCorrupt.
func readFrame(b []byte, at int) (payload []byte, next int, err error) {
	if len(b)-at < frameHead {
		return nil, at, fmt.Errorf("%w: frame at %d", errShort, at)
	}
	n := binary.LittleEndian.Uint32(b[at:])
	if n == 0 || n > maxFrame {
		return nil, at, fmt.Errorf("%w: frame at %d has length %d", ErrCorrupt, at, n)
	}
	if uint64(len(b)-at-frameHead) < uint64(n) {
		return nil, at, fmt.Errorf("%w: frame at %d", errShort, at)
	}
	payload = b[at+frameHead : at+frameHead+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[at+4:]) {
		return nil, at, fmt.Errorf("%w: frame at %d fails its checksum", ErrCorrupt, at)
	}
	return payload, at + frameHead + int(n), nil
}

// eachEntry calls fn with each entry of a frame's payload that starts at
// offset base of its file, and the entry's offset.
func eachEntry(payload []byte, base int, fn func(at int, e entry) error) error {
	for i := 0; i < len(payload); {
		e, n, err := decodeEntry(payload[i:])
		if err != nil {
			return fmt.Errorf("entry at %d: %w", base+i, err)
		}
		if err := fn(base+i, e); err != nil {
			return err
		}
		i += n
	}
	return nil
}

// zeros reports whether b holds only zero bytes.
func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// scanLog walks a log file's bytes and calls fn with every entry of every
// whole frame (P or D only) and its offset. It returns where the frames
// end: a last frame cut short, or zeros after the last frame (a write the
// crash left unfilled), is a Save that never returned and is not counted.
// A frame that fails its checksum, and anything that is not a frame, is
// damage (ErrCorrupt).
func scanLog(b []byte, fn func(at int, e entry) error) (end int, err error) {
	if err := checkHeader(b, logMagic); err != nil {
		return 0, err
	}
	end = headerLen
	for end < len(b) {
		payload, next, err := readFrame(b, end)
		if errors.Is(err, errShort) || (err != nil && zeros(b[end:])) {
			return end, nil
		}
		if err != nil {
			return end, err
		}
		err = eachEntry(payload, end+frameHead, func(at int, e entry) error {
			if e.kind == kindEnd {
				return fmt.Errorf("entry at %d: %w: an end entry in the log", at, ErrCorrupt)
			}
			return fn(at, e)
		})
		if err != nil {
			return end, err
		}
		end = next
	}
	return end, nil
}

// scanSnapshot walks a snapshot's bytes and calls fn with every put and
// its offset. Anything short of a whole snapshot whose end entry counts
// its puts is damage.
func scanSnapshot(b []byte, fn func(at int, e entry) error) (count int, err error) {
	if err := checkHeader(b, snapMagic); err != nil {
		return 0, err
	}
	ended := false
	for at := headerLen; at < len(b); {
		if ended {
			return count, fmt.Errorf("%w: bytes after the end entry, at %d", ErrCorrupt, at)
		}
		payload, next, err := readFrame(b, at)
		if err != nil {
			return count, err
		}
		err = eachEntry(payload, at+frameHead, func(off int, e entry) error {
			switch {
			case ended:
				return fmt.Errorf("entry at %d: %w: entries after the end entry", off, ErrCorrupt)
			case e.kind == kindEnd:
				if e.count != uint64(count) {
					return fmt.Errorf("entry at %d: %w: the end counts %d records, the snapshot holds %d", off, ErrCorrupt, e.count, count)
				}
				ended = true
				return nil
			case e.kind != kindPut:
				return fmt.Errorf("entry at %d: %w: a deletion in the snapshot", off, ErrCorrupt)
			}
			count++
			return fn(off, e)
		})
		if err != nil {
			return count, err
		}
		at = next
	}
	if !ended {
		return count, fmt.Errorf("%w: no end entry (cut short?)", errShort)
	}
	return count, nil
}
