package cluster

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/registrytest"
)

// The bolt store's golden records are written at the same instants.
var t0, t1 = registrytest.RecordT0, registrytest.RecordT1

// goldenSlots pins the slot values' bytes: every node of every version
// of this layout reads them. The fuzz target starts from them.
var goldenSlots = []struct {
	name  string
	value slotValue
	hex   string
}{
	{"empty", slotValue{}, "010000"},
	{"connected, registered by this write", slotValue{Records: []slotRecord{{Rec: registry.Record{SID: 17, CID: "pos-0042",
		CIP: "127.0.0.1", CPort: "53122", CStatus: true, ConnectedAt: t0, LastSeen: t1, Node: "n1"}}}}, "010108706f732d30303432000011093132372e302e302e310535333132320780f0f7a3a6bfafeb31aad4f3db86c1afeb31000000"},
	{"node lost, removed", slotValue{Records: []slotRecord{{RegRev: 300, Rec: registry.Record{SID: 1, CID: "a:b", CIP: "::1",
		CPort: "1", ConnectedAt: t0, LastSeen: t0, DisconnectedAt: t1, Reason: protocol.ReasonNodeLost, Node: "n1",
		Session: "s-1"}}}, Removed: []string{"gone-1", "gone-2"}}, "010103613a62ac020001033a3a3101310e80f0f7a3a6bfafeb3180f0f7a3a6bfafeb31aad4f3db86c1afeb31096e6f6465206c6f737403732d310206676f6e652d3106676f6e652d32"},
	// A newer version's reason: kept as its text.
	{"future reason", slotValue{Records: []slotRecord{{RegRev: 1 << 40, Rec: registry.Record{SID: 65535, CID: "f",
		CIP: "10.0.0.2", CPort: "2", ConnectedAt: t0, LastSeen: t0, DisconnectedAt: t0,
		Reason: registrytest.FutureReason("some future reason"), Node: "n1"}}}}, "01010166808080808020ffff0831302e302e302e3201320e80f0f7a3a6bfafeb3180f0f7a3a6bfafeb3180f0f7a3a6bfafeb3112736f6d652066757475726520726561736f6e0000"},
}

func TestSlotGolden(t *testing.T) {
	for _, g := range goldenSlots {
		t.Run(g.name, func(t *testing.T) {
			enc, err := encodeSlot(nil, g.value)
			require.NoError(t, err)
			assert.Equal(t, g.hex, hex.EncodeToString(enc))
			got, err := decodeSlot(enc, "n1")
			require.NoError(t, err)
			assert.Equal(t, g.value, got)
			for i, r := range got.Records {
				assert.Equal(t, g.value.Records[i].Rec.Reason.String(), r.Rec.Reason.String())
			}
		})
	}
}

// TestSlotRefusesOtherVersions: a value of another layout version is an
// error, not misread; so is one of this version that is not whole (bytes
// past its end, a flag or a reason this layout has no meaning for), and a
// time the layout can not hold is refused, not written as another.
func TestSlotRefusesOtherVersions(t *testing.T) {
	enc, err := encodeSlot(nil, goldenSlots[1].value)
	require.NoError(t, err)
	enc[0] = 2
	_, err = decodeSlot(enc, "n1")
	require.ErrorContains(t, err, "version 2")
	_, err = decodeSlot(nil, "n1")
	require.Error(t, err)
	_, err = decodeSlot([]byte(`{"sid":1}`), "n1")
	require.Error(t, err, "a per-client JSON record is not a slot")

	golden, err := hex.DecodeString(goldenSlots[1].hex)
	require.NoError(t, err)
	const flagsAt = 30 // version, count, cid, regrev, sid, cip, cport: then the flags (0x07)
	require.Equal(t, byte(0x07), golden[flagsAt])
	for name, b := range map[string][]byte{
		"a byte past its end":   append(bytes.Clone(golden), 0),
		"an unknown flag":       append(append(bytes.Clone(golden[:flagsAt]), 0x17), golden[flagsAt+1:]...),
		"a reason no build has": append(bytes.Clone(golden[:len(golden)-3]), 1, 0xff, 0, 0),
	} {
		_, err := decodeSlot(b, "n1")
		require.ErrorIs(t, err, errSlotValue, name)
	}

	v := goldenSlots[1].value
	v.Records = []slotRecord{v.Records[0]}
	v.Records[0].Rec.ConnectedAt = t0.AddDate(300, 0, 0) // past 2262: no int64 of nanoseconds
	_, err = encodeSlot(nil, v)
	require.ErrorContains(t, err, "out of range")
}

// The slot keys' golden cases: nodes and slots, and keys no slot has (a
// per-client key of an earlier build, another spelling of a slot's key).
var (
	slotKeyGolden = []struct {
		node string
		slot uint16
	}{{"n1", 0}, {"pod.a:b@c", 1023}, {"x", 17}}
	notSlotKeys = []string{"pos-0042", "n1.", "n1.1024", "n1.01", ".3", "n1.-1", "n1.x",
		"n=31.5", "pod=2ea=3Ab=40c.1", "pod.a.1"}
)

func TestSlotKeys(t *testing.T) {
	for _, c := range slotKeyGolden {
		k := slotKey(c.node, c.slot)
		node, slot, err := parseSlotKey(k)
		require.NoError(t, err, k)
		assert.Equal(t, c.node, node)
		assert.Equal(t, c.slot, slot)
	}
	for _, k := range notSlotKeys {
		_, _, err := parseSlotKey(k)
		assert.ErrorIs(t, err, errNotSlotKey, k)
	}
	assert.Equal(t, uint16(0), slotOf(63))
	assert.Equal(t, uint16(1), slotOf(64))
	assert.Equal(t, uint16(slotCount-1), slotOf(65535))
}

// FuzzSlotKey: a bucket key is read as the slot whose key it is, or
// refused as errNotSlotKey: no other key may stand for a slot (the mirror
// would take its writes and deletes for the slot's). Every slot's key
// reads back as it. Seeded with the golden cases.
func FuzzSlotKey(f *testing.F) {
	for _, c := range slotKeyGolden {
		f.Add(slotKey(c.node, c.slot), c.node, c.slot)
	}
	for _, k := range notSlotKeys {
		f.Add(k, "n1", uint16(0))
	}
	f.Fuzz(func(t *testing.T, key, node string, slot uint16) {
		got, s, err := parseSlotKey(key)
		switch {
		case err != nil && !errors.Is(err, errNotSlotKey):
			t.Fatalf("%q: %v is not errNotSlotKey", key, err)
		case err == nil && slotKey(got, s) != key:
			t.Fatalf("%q read as node %q slot %d, whose key is %q", key, got, s, slotKey(got, s))
		}
		if node == "" || slot >= slotCount {
			return // no node has no ID; no slot is past the last
		}
		k := slotKey(node, slot)
		if got, s, err := parseSlotKey(k); err != nil || got != node || s != slot {
			t.Fatalf("node %q slot %d: key %q read as %q %d, %v", node, slot, k, got, s, err)
		}
	})
}

// FuzzDecodeSlot feeds the slot value parser arbitrary bytes: no panic,
// and what it accepts encodes to bytes that decode to the same value and
// encode to the same bytes again.
func FuzzDecodeSlot(f *testing.F) {
	for _, g := range goldenSlots {
		enc, err := encodeSlot(nil, g.value)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{1, 1, 1, 'x', 0, 0, 1, 0, 0, 0xff, 0, 0, 0})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte(`{"sid":70000}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		v, err := decodeSlot(value, "n1")
		if err != nil {
			return
		}
		enc, err := encodeSlot(nil, v)
		if err != nil {
			t.Fatalf("decoded %q does not encode: %v", value, err)
		}
		again, err := decodeSlot(enc, "n1")
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", enc, err)
		}
		for i := range v.Records {
			if again.Records[i].Rec.Reason.String() != v.Records[i].Rec.Reason.String() {
				t.Fatalf("reason %q came back as %q", v.Records[i].Rec.Reason, again.Records[i].Rec.Reason)
			}
		}
		enc2, _ := encodeSlot(nil, again)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %x then %x", enc, enc2)
		}
	})
}
