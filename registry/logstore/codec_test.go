package logstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/registrytest"
)

var (
	t0 = registrytest.RecordT0
	t1 = registrytest.RecordT1
	t2 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
)

// goldenRecords pins the stored encoding: a change to any of these bytes is
// a change of the on-disk format and needs a new recordVersion (or must be
// additive). The fuzz target starts from them.
var goldenRecords = []struct {
	name string
	rec  registry.Record
	enc  string
}{
	{
		name: "connected",
		rec: registry.Record{SID: 17, CID: "pos-0042", CIP: "127.0.0.1", CPort: "53122", CStatus: true,
			ConnectedAt: t0, LastSeen: t1},
		enc: `{"v":1,"sid":17,"cid":"pos-0042","cip":"127.0.0.1","cport":"53122","cstatus":true,` +
			`"connected_at":"2026-11-25T19:01:58Z","last_seen":"2026-11-25T19:02:28.123456789Z"}`,
	},
	{
		name: "disconnected",
		rec: registry.Record{SID: 65535, CID: "a.b_c:d@e-F9", CIP: "::1", CPort: "1", ConnectedAt: t0,
			LastSeen: t1, DisconnectedAt: t2, Reason: protocol.ReasonKeepaliveTimeout, Node: "node-1"},
		enc: `{"v":1,"sid":65535,"cid":"a.b_c:d@e-F9","cip":"::1","cport":"1","connected_at":"2026-11-25T19:01:58Z",` +
			`"last_seen":"2026-11-25T19:02:28.123456789Z","disconnected_at":"2026-11-25T20:00:00Z",` +
			`"reason":"keepalive timeout","node":"node-1"}`,
	},
	{
		name: "restarted",
		rec: registry.Record{SID: 1, CID: "x", ConnectedAt: t0, LastSeen: t0, DisconnectedAt: t0,
			Reason: protocol.ReasonServerRestarted},
		enc: `{"v":1,"sid":1,"cid":"x","connected_at":"2026-11-25T19:01:58Z","last_seen":"2026-11-25T19:01:58Z",` +
			`"disconnected_at":"2026-11-25T19:01:58Z","reason":"server restarted"}`,
	},
	{
		// A newer version's reason, kept as its text (protocol/reason_future.go).
		name: "future reason",
		rec: registry.Record{SID: 2, CID: "f", ConnectedAt: t0, LastSeen: t0, DisconnectedAt: t0,
			Reason: registrytest.FutureReason("eaten by a grue")},
		enc: `{"v":1,"sid":2,"cid":"f","connected_at":"2026-11-25T19:01:58Z","last_seen":"2026-11-25T19:01:58Z",` +
			`"disconnected_at":"2026-11-25T19:01:58Z","reason":"eaten by a grue"}`,
	},
	{
		name: "minimal",
		rec:  registry.Record{CID: "m"},
		enc:  `{"v":1,"sid":0,"cid":"m"}`,
	},
}

func TestEncodeGolden(t *testing.T) {
	for _, g := range goldenRecords {
		t.Run(g.name, func(t *testing.T) {
			enc, err := appendRecord(nil, g.rec)
			require.NoError(t, err)
			assert.Equal(t, g.enc, string(enc))

			got, err := decodeRecord([]byte(g.rec.CID), []byte(g.enc))
			require.NoError(t, err)
			assert.Equal(t, g.rec, got)
		})
	}
}

func TestEncodeAppendsAndNormalisesZone(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	rec := registry.Record{CID: "z", ConnectedAt: t0.In(zone), LastSeen: time.Now()}
	enc, err := appendRecord([]byte("prefix"), rec)
	require.NoError(t, err)
	require.Equal(t, "prefix", string(enc[:6]))
	got, err := decodeRecord([]byte("z"), enc[6:])
	require.NoError(t, err)
	assert.Equal(t, t0, got.ConnectedAt, "stored in UTC")
	assert.Equal(t, time.UTC, got.LastSeen.Location())
	assert.True(t, rec.LastSeen.Equal(got.LastSeen))
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name, key, value string
		want             error
	}{
		{"empty", "a", ``, ErrCorrupt},
		{"not json", "a", `v=1`, ErrCorrupt},
		{"null", "a", `null`, ErrCorrupt},
		{"array", "a", `[1]`, ErrCorrupt},
		{"no version", "a", `{"cid":"a"}`, ErrCorrupt},
		{"newer version", "a", `{"v":2,"cid":"a"}`, ErrVersion},
		{"negative version", "a", `{"v":-1,"cid":"a"}`, ErrVersion},
		{"no cid", "a", `{"v":1}`, ErrCorrupt},
		{"key mismatch", "a", `{"v":1,"cid":"b"}`, ErrCorrupt},
		{"sid too big", "a", `{"v":1,"cid":"a","sid":65536}`, ErrCorrupt},
		{"sid negative", "a", `{"v":1,"cid":"a","sid":-1}`, ErrCorrupt},
		{"reason with a control byte", "a", `{"v":1,"cid":"a","reason":"eaten\u0000by a grue"}`, ErrCorrupt},
		{"bad time", "a", `{"v":1,"cid":"a","last_seen":"yesterday"}`, ErrCorrupt},
		{"trailing garbage", "a", `{"v":1,"cid":"a"}x`, ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeRecord([]byte(c.key), []byte(c.value))
			require.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), `"`+c.key+`"`, "the error names the record")
		})
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	// Additive changes need no version bump: an older build reads a newer
	// record's known fields.
	got, err := decodeRecord([]byte("a"), []byte(`{"v":1,"cid":"a","sid":3,"tags":["x"],"rtt_ms":4}`))
	require.NoError(t, err)
	assert.Equal(t, registry.Record{CID: "a", SID: 3}, got)
}

func BenchmarkEncode(b *testing.B) {
	rec := goldenRecords[1].rec
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendRecord(buf[:0], rec)
	}
}

func BenchmarkDecode(b *testing.B) {
	g := goldenRecords[1]
	key, value := []byte(g.rec.CID), []byte(g.enc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRecord(key, value); err != nil {
			b.Fatal(err)
		}
	}
}
