package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A tail that fell behind a log trimmed meanwhile named the --after it
// was given, not the last event it printed, and then said it resumed
// "after the last event printed" past the gap (event-readers audit). A
// server on 127.0.0.1 plays the log: events 1-3, the stream's end with its
// reason (the tail said "stopped or restarting?" instead), a 410
// (the oldest kept is 10), then event 10.
func TestEventsTailSaysTheGapAfterTheLastEventPrinted(t *testing.T) {
	url := playedServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.Header().Set("Content-Type", "text/event-stream")
			for seq := uint64(1); seq <= 3; seq++ {
				b, _ := json.Marshal(events.Event{Seq: seq, Type: events.TypeConnected, CID: "g-1", Time: time.Now()})
				fmt.Fprintf(w, "id: %d\ndata: %s\n\n", seq, b)
			}
			// The server says why it ends the stream (a terminal's escape
			// in it is shown escaped).
			fmt.Fprint(w, ": stream ended: events after 3 are no longer kept\x1b[2J\n\n")
		case 2:
			assert.Equal(t, "3", r.Header.Get("Last-Event-ID"), "resumed after the last event")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_, _ = fmt.Fprint(w, `{"error": "events after 3 are no longer kept", "oldest": 10}`)
		default:
			w.Header().Set("Content-Type", "text/event-stream")
			b, _ := json.Marshal(events.Event{Seq: 10, Type: events.TypeConnected, CID: "g-1", Time: time.Now()})
			fmt.Fprintf(w, "id: 10\ndata: %s\n\n", b)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	})
	_, errw := tailUntil(t, url, "10 ")
	assert.Contains(t, errw, "cliser: stream dropped (the server ended the stream: events after 3 are no longer kept\\x1b[2J); reconnecting\n",
		"the server's reason, not a guess (events audit)")
	assert.Contains(t, errw, "cliser: events after 3 are no longer kept; continuing from the oldest kept, 10\n")
	assert.NotContains(t, errw, "resuming after the last event printed", "past a gap it does not")
}

// One outage is one drop: the retries that find the server still away
// say "still no stream", where each said "stream dropped" again, five
// drops for one restart (stream audit). A server on 127.0.0.1 plays it:
// a stream of event 1 that ends, two 503s, then event 2.
func TestEventsTailSaysOneDropForOneOutage(t *testing.T) {
	url := playedServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		seq := uint64(1)
		switch n {
		case 2, 3:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprint(w, `{"error": "starting"}`)
			return
		case 1:
		default:
			seq = 2
		}
		w.Header().Set("Content-Type", "text/event-stream")
		b, _ := json.Marshal(events.Event{Seq: seq, Type: events.TypeConnected, CID: "o-1", Time: time.Now()})
		fmt.Fprintf(w, "id: %d\ndata: %s\n\n", seq, b)
		if seq == 2 {
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	})
	_, errw := tailUntil(t, url, "2 ")
	assert.Equal(t, 1, strings.Count(errw, "stream dropped"), errw)
	assert.Equal(t, 2, strings.Count(errw, "cliser: still no stream ("), errw)
	assert.Contains(t, errw, "cliser: reconnected; resuming after the last event printed\n")
}

// tailUntil runs tail as --after 0 (the first request is the stream's)
// against the admin API at url until what it prints holds want, and
// returns its output and its stderr.
func tailUntil(t *testing.T, url, want string) (out, errw string) {
	t.Helper()
	ac, err := admin.NewClient(url, "", time.Second)
	require.NoError(t, err)
	c := &apiClient{Client: ac}
	ctx, cancel := context.WithCancel(context.Background())
	var o, e testkit.LockedBuffer
	done := make(chan error, 1)
	zero := uint64(0)
	go func() { done <- tail(ctx, c, &zero, admin.EventsFilter{}, false, &o, &e) }()
	ok := assert.Eventually(t, func() bool { return strings.Contains(o.String(), want) }, 20*time.Second, 10*time.Millisecond)
	cancel()
	<-done
	require.True(t, ok, "%q not printed: %s / %s", want, o.String(), e.String())
	return o.String(), e.String()
}

// playedServer serves on 127.0.0.1 what play answers to the n-th request
// (from 1), and returns its URL; it closes when the test ends.
func playedServer(t *testing.T, play func(n int64, w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { play(conns.Add(1), w, r) }))
	t.Cleanup(srv.Close)
	return srv.URL
}
