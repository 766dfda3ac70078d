package events

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/jsonenc"
)

// encodeCases are events of every shape: every type's fields, empty and
// absent pointers, and strings encoding/json escapes.
func encodeCases() []Event {
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456000, time.UTC)
	reason, empty := "keepalive timeout", ""
	return []Event{
		{},
		{Seq: 1, ID: "evt-1", Type: TypeConnected, Time: at, Node: "n1", CID: "pos-0042", SID: 17, CIP: "203.0.113.9", CPort: "53122", Session: "s-1"},
		{Seq: 2, ID: "evt-2", Type: TypeDisconnected, Time: at, CID: "pos-0042", ConnectedAt: &at, Reason: &reason},
		{Seq: 3, ID: "evt-3", Type: TypeShutdownSent, Time: at, CID: "x", Reason: &empty},
		{Seq: 4, ID: "evt-4", Type: TypeBanCreated, Time: at, Kind: "ip", Value: "10.0.0.0/8", By: "ops <a&b>", Reason: &reason},
		{Seq: 5, Type: TypeBanDeleted, Time: at, By: "quote \" back \\ nl \n tab \t bell \a del \x7f \u2028 \u2029 bad \xff é 日本"},
		{Seq: ^uint64(0), SID: ^uint16(0), Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
}

// wantJSON is encoding/json's bytes for ev's fields, its times in UTC to
// the microsecond in six digits, as EVENTS.md's example writes them.
func wantJSON(ev *Event) ([]byte, error) {
	type fields Event // without Event's MarshalJSON
	b, err := json.Marshal((*fields)(ev))
	if err != nil {
		return nil, err
	}
	js := string(b)
	js = replaceTime(js, `"time":`, ev.Time)
	if ev.ConnectedAt != nil {
		js = replaceTime(js, `"connected_at":`, *ev.ConnectedAt)
	}
	return []byte(js), nil
}

// replaceTime writes at in UTC to the microsecond where encoding/json
// wrote it after key (unique: inside a string value a quote is escaped).
func replaceTime(js, key string, at time.Time) string {
	was, _ := json.Marshal(at)
	return strings.Replace(js, key+string(was), key+at.UTC().Format(`"2006-01-02T15:04:05.000000Z07:00"`), 1)
}

func TestAppendJSONIsJSONMarshal(t *testing.T) {
	for _, ev := range encodeCases() {
		want, err := wantJSON(&ev)
		require.NoError(t, err)
		got, err := AppendJSON([]byte("prefix"), &ev)
		require.NoError(t, err)
		assert.Equal(t, "prefix"+string(want), string(got))
		assert.Equal(t, ev.Time.Truncate(time.Microsecond), timeOf(got[len("prefix"):]))
		viaMarshal, err := json.Marshal(ev)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(viaMarshal), "json.Marshal writes an Event as the log does")
	}
}

// The example event of EVENTS.md, byte for byte in its times' form.
func TestAppendJSONWritesTheSpecsTimes(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
	since := time.Date(2026, 11, 30, 9, 58, 10, 999999999, time.UTC)
	reason := "keepalive timeout"
	got, err := AppendJSON(nil, &Event{Seq: 1234, ID: "evt-1", Type: TypeDisconnected, Time: at,
		CID: "pos-0042", ConnectedAt: &since, Reason: &reason})
	require.NoError(t, err)
	assert.Contains(t, string(got), `"time":"2026-11-30T10:00:00.123456Z"`)
	assert.Contains(t, string(got), `"connected_at":"2026-11-30T09:58:10.999999Z"`)
	whole := time.Date(2026, 11, 30, 10, 0, 1, 0, time.UTC)
	got, err = AppendJSON(nil, &Event{Time: whole})
	require.NoError(t, err)
	assert.Contains(t, string(got), `"time":"2026-11-30T10:00:01.000000Z"`, "six digits on a whole second too")
}

func TestAppendJSONRefusesAYearOutOfRange(t *testing.T) {
	ev := Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	got, err := AppendJSON([]byte("x"), &ev)
	require.Error(t, err)
	assert.Equal(t, "x", string(got), "dst comes back as it was")
}

func TestAppendJSONTurnsTimesToUTC(t *testing.T) {
	zone := time.FixedZone("x", 3600)
	at := time.Date(2026, 11, 30, 11, 0, 0, 0, zone)
	got, err := AppendJSON(nil, &Event{Time: at, ConnectedAt: &at})
	require.NoError(t, err)
	var back Event
	require.NoError(t, json.Unmarshal(got, &back))
	assert.Equal(t, "2026-11-30T10:00:00Z", back.Time.Format(time.RFC3339Nano))
	assert.Contains(t, string(got), `"time":"2026-11-30T10:00:00.000000Z"`)
	assert.True(t, back.ConnectedAt.Equal(at))
}

// FuzzAppendJSON holds the hand-written encoder to encoding/json's bytes
// (its times as wantJSON writes them).
func FuzzAppendJSON(f *testing.F) {
	for _, ev := range encodeCases() {
		r := ""
		if ev.Reason != nil {
			r = *ev.Reason
		}
		f.Add(ev.Seq, ev.ID, ev.Type, ev.Time.UnixNano(), ev.CID, ev.SID, ev.Session, r, ev.Reason != nil, ev.By)
	}
	f.Fuzz(func(t *testing.T, seq uint64, id, typ string, nanos int64, cid string, sid uint16, session, reason string, hasReason bool, by string) {
		at := time.Unix(0, nanos).UTC()
		ev := Event{Seq: seq, ID: id, Type: typ, Time: at, CID: cid, SID: sid, CIP: id, CPort: typ, Session: session, Kind: cid, Value: session, By: by}
		if hasReason {
			ev.Reason, ev.ConnectedAt = &reason, &at
		}
		want, werr := wantJSON(&ev)
		got, err := AppendJSON(nil, &ev)
		if werr != nil {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		require.True(t, timeOf(got).Equal(at.Truncate(time.Microsecond)))
	})
}

// BenchmarkAppendJSON is the writer's encoding of one disconnect event
// (the largest of a handshake's two: two times, a reason).
func BenchmarkAppendJSON(b *testing.B) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
	reason := "closed by client"
	ev := Event{Seq: 123456, ID: "evt-5f0c2a9e3b1d4c77-2n9c", Type: TypeDisconnected, Time: at, CID: "bench-01234", SID: 1234,
		CIP: "127.0.10.3", CPort: "41234", Session: "5f0c2a9e3b1d4c77-2n", ConnectedAt: &at, Reason: &reason}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendJSON(buf[:0], &ev)
	}
}

// BenchmarkAppendJSONInTheWriter is BenchmarkAppendJSON as the log's
// writer encodes: a storm's events, their IDs given and their times
// written by the writer's own idWriter and TimeWriter.
func BenchmarkAppendJSONInTheWriter(b *testing.B) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
	reason := "closed by client"
	ev := Event{Type: TypeDisconnected, Time: at, CID: "bench-01234", SID: 1234,
		CIP: "127.0.10.3", CPort: "41234", Session: "5f0c2a9e3b1d4c77-2n", ConnectedAt: &at, Reason: &reason}
	ids := newIDWriter(idPrefix())
	var times jsonenc.TimeWriter
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		ev.Seq++
		buf, _ = appendJSON(buf[:0], &ev, &ids, &times)
	}
}

// A stored event's type is read without decoding it, whatever its id
// holds; a type that would need unescaping is left to the decoder.
func TestRawTypeReadsTheTypeField(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, typ := range append(slices.Clone(Types), "x.custom", `odd"type`, `back\slash`) {
		for _, id := range []string{"evt-1", `,"type":"ban.created"`, `\",\"type\":\"ban.created`, `ends\`} {
			js, err := AppendJSON(nil, &Event{Seq: 7, ID: id, Type: typ, Time: at, CID: "c", Kind: "cid"})
			require.NoError(t, err)
			got, ok := Raw{Seq: 7, JSON: js}.Type()
			if strings.ContainsAny(typ, `"\`) {
				require.False(t, ok, "%s", js)
				continue
			}
			require.True(t, ok, "%s", js)
			require.Equal(t, typ, string(got), "%s", js)
			ev, err := Raw{Seq: 7, JSON: js}.Event()
			require.NoError(t, err)
			require.Equal(t, typ, ev.Type)
		}
	}
	_, ok := Raw{JSON: []byte(`{"seq":1}`)}.Type()
	require.False(t, ok)
}

// Our encoder's bytes read as encoded, so a stream sends them as stored,
// and only when decoding and encoding them again gives the same bytes.
// Those with a \u escape are decoded (the field reader steps aside: an
// escape could spell a key), which is right, only slower. An earlier
// build's times, or a CR a hand put in, are not as encoded.
func TestRawAsEncodedKnowsOurEncodersBytes(t *testing.T) {
	for _, ev := range encodeCases() {
		ev.Seq = 7
		js, err := AppendJSON(nil, &ev)
		require.NoError(t, err)
		r := Raw{Seq: 7, JSON: js}
		if !strings.Contains(string(js), `\u`) {
			assert.True(t, r.AsEncoded(), "%s", js)
		}
		if r.AsEncoded() {
			back, err := r.Event()
			require.NoError(t, err)
			again, err := AppendJSON(nil, &back)
			require.NoError(t, err)
			assert.Equal(t, string(js), string(again))
		}
	}
	for _, js := range []string{
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00.123456789Z"}`,
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00.5Z"}`,
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00Z"}`,
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00.123+01:00"}`,
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00.123456Z","connected_at":"2026-11-30T09:00:00.5Z"}`,
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00.123456Z","connected_at":"2026-11-30T09:00:00Z"}`,
		"{\"seq\":1,\r\"type\":\"a\",\"time\":\"2026-11-30T10:00:00.123456Z\"}",
		`{"seq":1,"type":"a"}`,
		`{"seq":1,"type":"a","time":"2026-11-30T10:00:00.123456Z","x":{"time":"1"}}`,
	} {
		assert.False(t, Raw{Seq: 1, JSON: []byte(js)}.AsEncoded(), "%s", js)
	}
}
