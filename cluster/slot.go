package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cliser/cliser/registry"
)

// The bucket holds a node's records by slot, not one key per client: a
// slot is a block of 1<<slotShift sids of one node, keyed "<node>.<slot>",
// and its value is every record of that node whose last sid falls in the
// block. A node's sids come from its own allocator, so a ramp of
// registrations fills few slots, and a flush republishes each changed
// slot once: a burst of hundreds of registrations is a handful of stored
// messages, acknowledgements and watch deliveries instead of one of each
// per record. History 1 keeps each slot's last state only.

// slotShift: a slot is the sids sharing sid>>slotShift, 64 of them, so a
// node has at most 1,024 slots and a slot's value holds 64 live records
// (~5 KiB) plus the disconnected records whose last sid fell there.
const (
	slotShift = 6
	slotCount = 1 << (16 - slotShift)
)

// slotOf is the slot of a record with this sid.
func slotOf(sid uint16) uint16 { return sid >> slotShift }

// slotKey is the bucket key of node's slot.
func slotKey(node string, slot uint16) string {
	return keyOf(node) + "." + strconv.Itoa(int(slot))
}

// errNotSlotKey: a key of the per-client layout of an earlier build (or
// anything else that is not "<node>.<slot>").
var errNotSlotKey = errors.New("cluster: not a slot key")

// parseSlotKey reverses slotKey. Only the key slotKey makes is read: the
// node part spelled otherwise (a raw or a lowercase escape, "=31" for
// "1") would be a second key of the slot, whose writes and deletes the
// mirror would apply to the slot of the key it does not name.
func parseSlotKey(key string) (node string, slot uint16, err error) {
	dot := strings.IndexByte(key, '.')
	if dot <= 0 {
		return "", 0, errNotSlotKey
	}
	s, err := strconv.ParseUint(key[dot+1:], 10, 16)
	if err != nil || s >= slotCount || strconv.FormatUint(s, 10) != key[dot+1:] {
		return "", 0, errNotSlotKey
	}
	node, err = idOf(key[:dot])
	if err != nil || keyOf(node) != key[:dot] {
		return "", 0, errNotSlotKey
	}
	return node, uint16(s), nil
}

// slotRecord is one record in a slot value. RegRev is the bucket revision
// of the write that registered this session: 0 in a value means "this
// write's own revision" (the writer does not know it before the
// acknowledgement and fills it in for its later writes). Takeover is
// decided by it alone: for a cid the highest RegRev of any slot wins.
type slotRecord struct {
	Rec    registry.Record
	RegRev uint64
}

// slotValue is a slot's whole state as the bucket holds it. Removed lists
// cids this write took out of the slot (pruned, or moved to another slot
// by a new session of the node): a watcher drops them from its index if
// it had them in this slot.
type slotValue struct {
	Records []slotRecord
	Removed []string
}

// slotVersion is the first byte of every slot value: a build that reads
// another version refuses it instead of misreading it.
const slotVersion = 1

// Flag bits of a record in a slot value.
const (
	flagConnected = 1 << iota
	flagConnectedAt
	flagLastSeen
	flagDisconnectedAt
)

// Limits that keep a hostile or corrupt value from asking for memory.
const (
	maxSlotStr     = 1 << 12
	maxSlotRecords = 1 << 20
)

var errSlotValue = errors.New("cluster: malformed slot value")

// encodeSlot is v in its binary form (decodeSlot reads it back). The
// record's Node is the key's and is not written.
func encodeSlot(dst []byte, v slotValue) ([]byte, error) {
	dst = append(dst, slotVersion)
	dst = binary.AppendUvarint(dst, uint64(len(v.Records)))
	for _, r := range v.Records {
		var err error
		if dst, err = appendSlotRecord(dst, r); err != nil {
			return nil, err
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(v.Removed)))
	for _, cid := range v.Removed {
		dst = appendStr(dst, cid)
	}
	return dst, nil
}

func appendSlotRecord(dst []byte, r slotRecord) ([]byte, error) {
	rec := r.Rec
	dst = appendStr(dst, rec.CID)
	dst = binary.AppendUvarint(dst, r.RegRev)
	dst = binary.BigEndian.AppendUint16(dst, rec.SID)
	dst = appendStr(dst, rec.CIP)
	dst = appendStr(dst, rec.CPort)
	var flags byte
	if rec.CStatus {
		flags |= flagConnected
	}
	times := [3]time.Time{rec.ConnectedAt, rec.LastSeen, rec.DisconnectedAt}
	for i, t := range times {
		if !t.IsZero() {
			flags |= flagConnectedAt << i
		}
	}
	dst = append(dst, flags)
	for _, t := range times {
		if t.IsZero() {
			continue
		}
		ns, ok := unixNanos(t)
		if !ok {
			return nil, fmt.Errorf("cluster: record of %s: time %v out of range", rec.CID, t)
		}
		dst = binary.AppendVarint(dst, ns)
	}
	dst = appendStr(dst, rec.Reason.String())
	return appendStr(dst, rec.Session), nil
}

// unixNanos is t in nanoseconds since 1970, when it fits (years
// 1678–2262); a zero time is not written at all (its flag is off).
func unixNanos(t time.Time) (int64, bool) {
	if t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, false
	}
	return t.UnixNano(), true
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeSlot reads a slot value of node's.
func decodeSlot(b []byte, node string) (slotValue, error) {
	d := slotDecoder{b: b}
	if v := d.byte(); v != slotVersion {
		if d.err != nil {
			return slotValue{}, d.err
		}
		return slotValue{}, fmt.Errorf("cluster: slot value of version %d; this build reads %d", v, slotVersion)
	}
	n := d.count()
	var v slotValue
	if n > 0 {
		v.Records = make([]slotRecord, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		v.Records = append(v.Records, d.record(node))
	}
	n = d.count()
	for i := 0; i < n && d.err == nil; i++ {
		v.Removed = append(v.Removed, d.str())
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errSlotValue
	}
	if d.err != nil {
		return slotValue{}, d.err
	}
	return v, nil
}

// slotDecoder reads a slot value; the first error sticks.
type slotDecoder struct {
	b   []byte
	err error
}

func (d *slotDecoder) fail() { d.err, d.b = errSlotValue, nil }

func (d *slotDecoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *slotDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	return d.advance(n, v)
}

func (d *slotDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	return int64(d.advance(n, uint64(v)))
}

// advance skips the n bytes v was read from (n <= 0: a bad varint).
func (d *slotDecoder) advance(n int, v uint64) uint64 {
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count is a list's length, no more than the bytes left could hold.
func (d *slotDecoder) count() int {
	n := d.uvarint()
	if n > maxSlotRecords || n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *slotDecoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > maxSlotStr || n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *slotDecoder) record(node string) slotRecord {
	var r slotRecord
	rec := &r.Rec
	rec.CID = d.str()
	r.RegRev = d.uvarint()
	if len(d.b) < 2 {
		d.fail()
		return r
	}
	rec.SID = binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	rec.CIP = d.str()
	rec.CPort = d.str()
	flags := d.byte()
	if flags&^(flagConnected|flagConnectedAt|flagLastSeen|flagDisconnectedAt) != 0 {
		d.fail()
		return r
	}
	rec.CStatus = flags&flagConnected != 0
	for i, t := range []*time.Time{&rec.ConnectedAt, &rec.LastSeen, &rec.DisconnectedAt} {
		if flags&(flagConnectedAt<<i) != 0 {
			*t = time.Unix(0, d.varint()).UTC()
		}
	}
	if text := d.str(); d.err == nil && rec.Reason.UnmarshalText([]byte(text)) != nil {
		d.fail()
		return r
	}
	rec.Session = d.str()
	rec.Node = node
	return r
}
