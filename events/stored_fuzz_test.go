package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cidOfCases are what an event's bytes may hold besides what our encoders
// write (a file edited by hand): the cid as encoding/json reads it, which
// the index must find too.
var cidOfCases = []struct{ in, cid string }{
	{`{"seq":1,"cid":"pos-0042"}`, "pos-0042"},
	{`{"seq":1}`, ""},
	{`{"seq":1,"cid":"a\u0041"}`, "aA"},
	{`{"seq":1,"cid":"a\"b"}`, `a"b`},
	{`{"seq":1,"cid" : "spaced"}`, "spaced"},
	{`{"seq":1,"CID":"upper"}`, "upper"},
	{`{"seq":1,"cid":"first","cid":"last"}`, "last"},
	{`{"seq":1,"cid":"a","Cid":"folded"}`, "folded"},
	{`{"seq":1,"cid":"a","\u0063id":"escaped"}`, "escaped"},
	{`{"seq":1,"x":{"cid":"nested"},"cid":"top"}`, "top"},
	{`{"seq":1,"x":{"cid":"nested"}}`, ""},
	{`{"seq":1,"x\"cid":"key","cid":"top"}`, "top"},
	{`{"seq":1,"cid":null}`, ""},
	{`{"seq":1,"cid":"a","cid":null}`, "a"},
	{"{\"seq\":1,\"cid\":\"bad \xff\"}", "bad \ufffd"},
	{` {"cid":"lead"}`, "lead"},
	{`null`, ""},
}

// TestCIDOf: the index files an event under the cid its readers decode,
// whatever way the bytes spell it.
func TestCIDOf(t *testing.T) {
	for _, c := range cidOfCases {
		var ev Event
		if err := json.Unmarshal([]byte(c.in), &ev); err != nil || ev.CID != c.cid {
			t.Fatalf("%s: encoding/json reads %q, %v: the case is wrong", c.in, ev.CID, err)
		}
		if got := cidOf([]byte(c.in)); got != c.cid {
			t.Errorf("%s: cidOf %q, want %q", c.in, got, c.cid)
		}
	}
}

// idOfCases are as cidOfCases, for the id (the webhook's request id).
var idOfCases = []struct{ in, id string }{
	{`{"seq":1,"id":"evt-ad30341166383733-1","type":"client.connected","cid":"pos-1"}`, "evt-ad30341166383733-1"},
	{`{"seq":1,"cid":"c-id"}`, ""},
	{`{"seq":1,"id":"a","cid":"x"}`, "a"},
	{`{"seq":1,"id":"a","ID":"upper"}`, "upper"},
	{`{"seq":1,"id":"a","id":"last"}`, "last"},
	{`{"seq":1,"id":"a","id":"escaped"}`, "escaped"},
	{`{"seq":1,"id":"aA"}`, "aA"},
	{`{"seq":1,"x":{"id":"nested"},"id":"top"}`, "top"},
	{"{\"seq\":1,\"id\":\"bad \xff\"}", "bad \ufffd"},
}

// TestIDOf: the webhook names a batch by the id its readers decode, and
// reads our encoder's without an allocation (sending allocates once a
// request).
func TestIDOf(t *testing.T) {
	for _, c := range idOfCases {
		var ev Event
		if err := json.Unmarshal([]byte(c.in), &ev); err != nil || ev.ID != c.id {
			t.Fatalf("%s: encoding/json reads %q, %v: the case is wrong", c.in, ev.ID, err)
		}
		if got := idOf([]byte(c.in)); string(got) != c.id {
			t.Errorf("%s: idOf %q, want %q", c.in, got, c.id)
		}
	}
	raw, err := AppendJSON(nil, &Event{Seq: 9, ID: "evt-1-9", Type: TypeConnected, Time: time.Now(), CID: "pos-1", CIP: "10.0.0.1"})
	require.NoError(t, err)
	require.Equal(t, "evt-1-9", string(Raw{Seq: 9, JSON: raw}.ID()))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = idOf(raw) }), "our encoder's id is read in place")
}

// fieldCases are events edited by hand whose type or time a first match
// of the key would misread: the type and time as encoding/json reads them
// (ok false: the type filter decodes the event).
var fieldCases = []struct {
	in, typ string
	ok      bool
	time    string
}{
	{`{"seq":1,"type":"a","time":"2026-01-02T03:04:05.5Z"}`, "a", true, "2026-01-02T03:04:05.5Z"},
	{`{"seq":1,"type":"a","Type":"b"}`, "", false, ""},
	{`{"seq":1,"type":"a","type":"b"}`, "", false, ""},
	{`{"seq":1,"x":{"q":1,"type":"b"},"type":"a"}`, "", false, ""},
	{`{"seq":1,"type":"a","time":"2026-01-01T00:00:00Z","TIME":"2027-01-01T00:00:00Z"}`, "a", true, "2027-01-01T00:00:00Z"},
	{`{"seq":1,"time":"2026-01-01T00:00:00Z","x":{"time":"2027-01-01T00:00:00Z"}}`, "", false, "2026-01-01T00:00:00Z"},
	{`{"seq":1,"type":"a\u0062","time":"2026-01-01T00:00:00+02:00"}`, "", false, "2026-01-01T00:00:00+02:00"},
	{`{"seq":1}`, "", false, ""},
}

// TestFieldsReadAsEncodingJSONDoes: the type filter and the webhook read
// an event's type and time as its readers decode them.
func TestFieldsReadAsEncodingJSONDoes(t *testing.T) {
	for _, c := range fieldCases {
		var ev Event
		require.NoError(t, json.Unmarshal([]byte(c.in), &ev), c.in)
		typ, ok := typeOf([]byte(c.in))
		assert.Equal(t, c.ok, ok, "%s: typeOf's ok", c.in)
		if ok {
			assert.Equal(t, ev.Type, string(typ), c.in)
			assert.Equal(t, c.typ, string(typ), c.in)
		}
		want := time.Time{}
		if c.time != "" {
			var err error
			want, err = time.Parse(time.RFC3339Nano, c.time)
			require.NoError(t, err)
		}
		require.True(t, ev.Time.Equal(want), "%s: the case is wrong: encoding/json reads %v", c.in, ev.Time)
		assert.True(t, timeOf([]byte(c.in)).Equal(want), "%s: timeOf %v, want %v", c.in, timeOf([]byte(c.in)), want)
	}
}

// storedSeeds are every event shape as the writers store it (AppendJSON,
// and encoding/json for earlier builds), with its seq, cidOfCases and
// fieldCases.
func storedSeeds(f *testing.F) {
	for _, ev := range encodeCases() {
		raw, err := AppendJSON(nil, &ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ev.Seq, raw)
		if raw, err = json.Marshal(&ev); err != nil {
			f.Fatal(err)
		}
		f.Add(ev.Seq, raw)
	}
	for _, c := range cidOfCases {
		f.Add(uint64(1), []byte(c.in))
	}
	for _, c := range fieldCases {
		f.Add(uint64(1), []byte(c.in))
	}
	for _, c := range idOfCases {
		f.Add(uint64(1), []byte(c.in))
	}
}

// FuzzCIDOf holds the index's shortcut to encoding/json's reading:
// whatever encoding/json takes as an event, cidOf finds the cid it holds.
func FuzzCIDOf(f *testing.F) {
	storedSeeds(f)
	f.Fuzz(func(t *testing.T, _ uint64, raw []byte) {
		var ev Event
		if json.Unmarshal(raw, &ev) != nil {
			return // not an event: its readers refuse it as corrupt
		}
		if got := cidOf(raw); got != ev.CID {
			t.Fatalf("%q: cidOf read %q, encoding/json %q", raw, got, ev.CID)
		}
	})
}

// FuzzDecodeEvent: an event stored in the file is read as the one it
// holds, or refused as ErrCorrupt; what is read, written again by
// AppendJSON, reads back the same.
func FuzzDecodeEvent(f *testing.F) {
	storedSeeds(f)
	f.Add(uint64(2), []byte(`{"seq":1}`)) // another event's
	f.Fuzz(func(t *testing.T, seq uint64, raw []byte) {
		checkStoredRoundTrip(t, seq, raw, decodeEvent)
	})
}

// FuzzDecodeStreamed: Stream.decode's reading of a message's data, as
// FuzzDecodeEvent; its seq is always the stream's.
func FuzzDecodeStreamed(f *testing.F) {
	storedSeeds(f)
	f.Add(uint64(2), []byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, seq uint64, raw []byte) {
		checkStoredRoundTrip(t, seq, raw, decodeStreamed)
	})
}

func checkStoredRoundTrip(t *testing.T, seq uint64, raw []byte, decode func(uint64, []byte) (Event, error)) {
	ev, err := decode(seq, raw)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) || ev != (Event{}) {
			t.Fatalf("%q: %+v, %v: a refusal is ErrCorrupt and no event", raw, ev, err)
		}
		return
	}
	if ev.Seq != seq {
		t.Fatalf("%q read as seq %d, not %d", raw, ev.Seq, seq)
	}
	again, err := AppendJSON(nil, &ev)
	if err != nil {
		// Only a time that leaves the years 0-9999 once in UTC, as
		// for encoding/json: no writer stores one.
		utc := ev
		utc.Time = ev.Time.UTC()
		if ev.ConnectedAt != nil {
			at := ev.ConnectedAt.UTC()
			utc.ConnectedAt = &at
		}
		if _, jerr := json.Marshal(&utc); jerr == nil {
			t.Fatalf("%q: read as %+v, which AppendJSON refuses: %v", raw, ev, err)
		}
		return
	}
	back, err := decode(seq, again)
	if err != nil {
		t.Fatalf("%q: read as %+v, written as %s, refused: %v", raw, ev, again, err)
	}
	if !sameEvent(back, ev) {
		t.Fatalf("%q: read as %+v, written as %s, read back as %+v", raw, ev, again, back)
	}
	twice, _ := AppendJSON(nil, &back)
	if string(twice) != string(again) {
		t.Fatalf("%q: written as %s, read back and written as %s", raw, again, twice)
	}
	if cidOf(again) != ev.CID {
		t.Fatalf("%s: the index reads cid %q, not %q", again, cidOf(again), ev.CID)
	}
}

// sameEvent: a and b hold the same fields, their times the same instants.
func sameEvent(a, b Event) bool {
	if !a.Time.Equal(b.Time) || (a.ConnectedAt == nil) != (b.ConnectedAt == nil) ||
		(a.ConnectedAt != nil && !a.ConnectedAt.Equal(*b.ConnectedAt)) ||
		(a.Reason == nil) != (b.Reason == nil) || (a.Reason != nil && *a.Reason != *b.Reason) {
		return false
	}
	a.Time, b.Time, a.ConnectedAt, b.ConnectedAt, a.Reason, b.Reason = time.Time{}, time.Time{}, nil, nil, nil, nil
	return a == b
}

// FuzzTypeOf holds the type filter's shortcut to encoding/json's reading:
// a type read without decoding is the one the event holds, or none
// (ok false: the reader decodes it).
func FuzzTypeOf(f *testing.F) {
	storedSeeds(f)
	f.Fuzz(func(t *testing.T, _ uint64, raw []byte) {
		var ev Event
		if json.Unmarshal(raw, &ev) != nil {
			return
		}
		if typ, ok := typeOf(raw); ok && string(typ) != ev.Type {
			t.Fatalf("%q: typeOf read %q, encoding/json %q", raw, typ, ev.Type)
		}
	})
}

// FuzzIDOf holds the webhook's shortcut to an event's id: the id it
// reads is the one encoding/json reads.
func FuzzIDOf(f *testing.F) {
	storedSeeds(f)
	f.Fuzz(func(t *testing.T, _ uint64, raw []byte) {
		var ev Event
		if json.Unmarshal(raw, &ev) != nil {
			return
		}
		if got := idOf(raw); string(got) != ev.ID {
			t.Fatalf("%q: idOf read %q, encoding/json %q", raw, got, ev.ID)
		}
	})
}

// FuzzTimeOf holds the webhook's shortcut to an event's time: the time it
// reads is the one encoding/json reads, or the zero time.
func FuzzTimeOf(f *testing.F) {
	storedSeeds(f)
	f.Fuzz(func(t *testing.T, _ uint64, raw []byte) {
		var ev Event
		if json.Unmarshal(raw, &ev) != nil {
			return
		}
		if got := timeOf(raw); !got.IsZero() && !got.Equal(ev.Time) {
			t.Fatalf("%q: timeOf read %v, encoding/json %v", raw, got, ev.Time)
		}
	})
}

// BenchmarkFieldsOf: the three shortcuts on a stored connect event (the
// start's index reads every event's cid; encoding/json takes ~2 µs).
func BenchmarkFieldsOf(b *testing.B) {
	at := time.Date(2026, 12, 4, 22, 0, 0, 123456789, time.UTC)
	raw, err := AppendJSON(nil, &Event{Seq: 1, ID: "ev-1", Type: TypeConnected, Time: at, CID: "pos-0042",
		CIP: "10.1.2.3", CPort: "40000", SID: 7, Session: "s-1"})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if cidOf(raw) == "" || !timeOf(raw).Equal(at) {
			b.Fatal("misread")
		}
		if _, ok := typeOf(raw); !ok {
			b.Fatal("type not read")
		}
	}
}
