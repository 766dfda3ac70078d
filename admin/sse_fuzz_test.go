package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// sseGolden are the SSE reader's golden cases: the WHATWG framing as our
// server writes it and as others may.
var sseGolden = []struct {
	in   string
	want []sseEvent
}{
	{"id: 1\nevent: client.connected\ndata: {}\n\n", []sseEvent{{"1", "client.connected", "{}"}}},
	{": comment\n\n", nil},
	{"data: a\ndata: b\n\n", []sseEvent{{"", "", "a\nb"}}},
	{"data:no-space\n\n", []sseEvent{{"", "", "no-space"}}},
	{"id: 7\ndata: x\n\ndata: y\n\n", []sseEvent{{"7", "", "x"}, {"7", "", "y"}}}, // the id stays
	{"id: 8\r\ndata: z\r\n\r\n", []sseEvent{{"8", "", "z"}}},
	{"event: e\n\n", nil}, // no data: no event
	{"data: unterminated", nil},
	{"retry: 10\nfoo: bar\ndata: d\n\n", []sseEvent{{"", "", "d"}}},
	{"id: a\x00b\ndata: d\n\n", []sseEvent{{"", "", "d"}}},
	// The event type is the dispatched event's alone, and only one space
	// after the colon is the framing's (WHATWG; found by mutation).
	{"event: e\ndata: 1\n\ndata: 2\n\n", []sseEvent{{"", "e", "1"}, {"", "", "2"}}},
	{"data:  two\n\n", []sseEvent{{"", "", " two"}}},
}

func TestReadSSEGolden(t *testing.T) {
	for _, c := range sseGolden {
		var got []sseEvent
		err := readSSE(strings.NewReader(c.in), nil, func(e sseEvent) error { got = append(got, e); return nil })
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%q: got %+v, want %+v", c.in, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%q: event %d: got %+v, want %+v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

// seen is told of every line, the heartbeat's comments and blank lines
// too: it is what keeps `cliser events --follow` on a quiet stream past
// StreamIdle (found by mutation: with the call gone, every test passed,
// and a follow hung up 45 s into a stream of heartbeats alone).
func TestReadSSETellsSeenOfEveryLine(t *testing.T) {
	seen := 0
	err := readSSE(strings.NewReader(": ping\n\n: ping\n\nid: 1\ndata: {}\n\n"), func(string) { seen++ },
		func(sseEvent) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if seen != 7 {
		t.Fatalf("seen %d lines, want 7", seen)
	}
}

// FuzzReadSSE: any bytes read as a stream end in events or an error, never
// a panic; an event framed by appendSSE reads back as itself, whatever its
// fields hold. Seeded with the golden cases.
func FuzzReadSSE(f *testing.F) {
	for _, c := range sseGolden {
		f.Add(c.in, "pos-0042", "")
	}
	f.Add("id: 1\nevent: client.connected\ndata: {}\n\n", "pos-0042", "keepalive timeout")
	f.Add("data: a\ndata: b\n\n: c\n", "a\nb", "")
	f.Add("\r\r\n\n", "", "\x00")
	f.Fuzz(func(t *testing.T, raw, cid, reason string) {
		_ = readSSE(strings.NewReader(raw), nil, func(sseEvent) error { return nil })

		ev := events.Event{Seq: 42, ID: "evt-x", Type: events.TypeDisconnected, CID: cid, Reason: &reason,
			Time: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
		var got []sseEvent
		if err := readSSE(strings.NewReader(string(appendSSE(nil, &ev))), nil, func(e sseEvent) error {
			got = append(got, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != "42" || got[0].Event != events.TypeDisconnected {
			t.Fatalf("framed event read back as %+v", got)
		}
		var back events.Event
		if err := json.Unmarshal([]byte(got[0].Data), &back); err != nil {
			t.Fatalf("data %q: %v", got[0].Data, err)
		}
		// Compared as JSON decodes them: invalid UTF-8 in a field
		// becomes U+FFFD on the way, as encoding/json always does.
		var direct events.Event
		raw0, _ := json.Marshal(&ev)
		_ = json.Unmarshal(raw0, &direct)
		want, _ := json.Marshal(&direct)
		again, _ := json.Marshal(&back)
		if string(want) != string(again) {
			t.Fatalf("round trip: %s != %s", again, want)
		}
	})
}

// A wait too long for Go's durations is read as the longest, as any wait
// past it is: it was refused by an answer that said a longer one is read
// so (events audit). A bad or negative one is still refused.
func TestAWaitPastGosDurationsIsReadAsTheLongest(t *testing.T) {
	for wait, want := range map[string]time.Duration{"99999999999h": MaxEventsWait, "6m": MaxEventsWait,
		"9999999999999999999ns": MaxEventsWait, "1.5s": 1500 * time.Millisecond} {
		r := httptest.NewRequest(http.MethodGet, "/v1/events?wait="+wait, nil)
		q, err := parseEventsQuery(r)
		require.NoError(t, err, wait)
		assert.Equal(t, want, q.Wait, wait)
	}
	for _, wait := range []string{"-99999999999h", "99999999999", "1x", "1.2.3s", "h"} {
		r := httptest.NewRequest(http.MethodGet, "/v1/events?wait="+wait, nil)
		_, err := parseEventsQuery(r)
		assert.ErrorIs(t, err, ErrBadRequest, wait)
	}
}

// FuzzEventsQuery: any query is refused with a 400 that says why, or gives
// values within the documented bounds (a limit once Events sizes its page).
func FuzzEventsQuery(f *testing.F) {
	for _, q := range []string{"", "after=0&limit=1000", "after=18446744073709551615", "limit=0", "type=client.connected,ban.created",
		"type=nope", "cid=pos-0042", "cid=a%20b", "wait=10s", "wait=-1s", "wait=6m", "after=-1", "type=,,",
		"limit=1001", "limit=99999999999999999999999", "limit=+1", "wait=99999999999h"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r, err := http.NewRequest(http.MethodGet, "http://admin.test/v1/events?"+query, nil)
		if err != nil {
			return
		}
		q, err := parseEventsQuery(r)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) || err.Error() == "" {
				t.Fatalf("%q: %v is not a bad request that says why", query, err)
			}
			return
		}
		if n, err := pageSize(q.Limit, defaultEventsLimit, MaxEventsLimit); err != nil || n < 1 || n > MaxEventsLimit ||
			q.Wait < 0 || q.Wait > MaxEventsWait {
			t.Fatalf("%q: out of bounds: %+v", query, q)
		}
		for typ := range q.Types {
			if !strings.HasPrefix(typ, "client.") && !strings.HasPrefix(typ, "credential.") && !strings.HasPrefix(typ, "ban.") {
				t.Fatalf("%q: type %q", query, typ)
			}
		}
	})
}
