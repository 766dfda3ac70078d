package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/registrytest"
)

// The bolt store's golden records are written at the same instants.
var t0, t1 = registrytest.RecordT0, registrytest.RecordT1

// goldenRecords pins the bucket's JSON: every node of every version reads
// it. The fuzz target starts from them.
var goldenRecords = []struct {
	name string
	rec  registry.Record
	enc  string
}{
	{"connected", registry.Record{SID: 17, CID: "pos-0042", CIP: "127.0.0.1", CPort: "53122", CStatus: true,
		ConnectedAt: t0, LastSeen: t1, Node: "n1"},
		`{"sid":17,"cid":"pos-0042","cip":"127.0.0.1","cport":"53122","cstatus":true,` +
			`"connected_at":"2026-11-25T19:01:58Z","last_seen":"2026-11-25T19:02:28.123456789Z","reason":"","node":"n1"}`},
	{"node lost", registry.Record{SID: 1, CID: "a:b", CIP: "::1", CPort: "1", ConnectedAt: t0, LastSeen: t0,
		DisconnectedAt: t1, Reason: protocol.ReasonNodeLost, Node: "n3"},
		`{"sid":1,"cid":"a:b","cip":"::1","cport":"1","cstatus":false,"connected_at":"2026-11-25T19:01:58Z",` +
			`"last_seen":"2026-11-25T19:01:58Z","disconnected_at":"2026-11-25T19:02:28.123456789Z","reason":"node lost","node":"n3"}`},
	// A newer version's reason: kept as its text.
	{"future reason", registry.Record{SID: 2, CID: "f", CIP: "10.0.0.2", CPort: "2", ConnectedAt: t0, LastSeen: t0,
		DisconnectedAt: t0, Reason: registrytest.FutureReason("some future reason"), Node: "n9"},
		`{"sid":2,"cid":"f","cip":"10.0.0.2","cport":"2","cstatus":false,"connected_at":"2026-11-25T19:01:58Z",` +
			`"last_seen":"2026-11-25T19:01:58Z","disconnected_at":"2026-11-25T19:01:58Z","reason":"some future reason","node":"n9"}`},
}

func TestRecordGolden(t *testing.T) {
	for _, g := range goldenRecords {
		t.Run(g.name, func(t *testing.T) {
			enc, err := encodeRecord(g.rec)
			require.NoError(t, err)
			assert.Equal(t, g.enc, string(enc))
			got, err := decodeRecord([]byte(g.enc))
			require.NoError(t, err)
			assert.Equal(t, g.rec, got)
			assert.Equal(t, g.rec.Reason.String(), got.Reason.String())
		})
	}
}

// FuzzDecodeRecord feeds the parser of bucket values arbitrary bytes: no
// panic, and what it accepts encodes to bytes that decode and encode to
// the same bytes again.
func FuzzDecodeRecord(f *testing.F) {
	for _, g := range goldenRecords {
		f.Add([]byte(g.enc))
	}
	f.Add([]byte(`{"cstatus":"maybe"}`))
	f.Add([]byte(`{"reason":"x\u0000y"}`))
	f.Add([]byte(`{"sid":70000}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		rec, err := decodeRecord(value)
		if err != nil {
			return
		}
		enc, err := encodeRecord(rec)
		if err != nil {
			return // a time JSON reads but does not write (year > 9999)
		}
		again, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", enc, err)
		}
		if again.Reason.String() != rec.Reason.String() {
			t.Fatalf("reason %q came back as %q", rec.Reason, again.Reason)
		}
		enc2, _ := encodeRecord(again)
		if string(enc2) != string(enc) {
			t.Fatalf("encoding not stable: %q then %q", enc, enc2)
		}
	})
}
