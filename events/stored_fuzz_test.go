package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
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

// storedSeeds are every event shape as the writers store it (AppendJSON,
// and encoding/json for earlier builds), with its seq, and cidOfCases.
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
