package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

// eventsServer runs the built binary with an event log in a fresh (or the
// given) data dir.
func eventsServer(t *testing.T, dataDir string, extra ...string) (*testkit.Served, *admin.Client) {
	t.Helper()
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir, extra...)...)
	return p, apiOf(t, p)
}

// allEvents reads the whole log through GET /v1/events, page by page.
func allEvents(t *testing.T, c *admin.Client, f admin.EventsFilter) []events.Event {
	t.Helper()
	var out []events.Event
	after := uint64(0)
	for {
		page, err := c.Events(context.Background(), &after, 7, f, 0)
		require.NoError(t, err)
		out = append(out, page.Events...)
		if len(page.Events) == 0 {
			return out
		}
		after = page.Next
	}
}

// waitEvents polls until the log holds at least n events and returns them.
func waitEvents(t *testing.T, c *admin.Client, n int) []events.Event {
	t.Helper()
	var evs []events.Event
	require.Eventually(t, func() bool {
		evs = allEvents(t, c, admin.EventsFilter{})
		return len(evs) >= n
	}, waitFor, 20*time.Millisecond, "the log never reached %d events", n)
	return evs
}

func typesOf(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type + ":" + ev.CID
	}
	return out
}

func reasonOf(ev events.Event) string {
	if ev.Reason == nil {
		return "<nil>"
	}
	return *ev.Reason
}

// Every kind of client event, in order, with seq growing by one, unique
// ids, and a session that tells the replaced connection's disconnect from
// the current one. A failed handshake is not an event.
func TestEventsBinaryLifecycle(t *testing.T) {
	p, api := eventsServer(t, t.TempDir())
	bad := testkit.Dial(t, p.Addr)
	bad.Expect("110 password")
	bad.Send("110 wrong\n")
	bad.ExpectClosed("190 auth failed")

	first := opsConnect(t, p.Addr, opsPassword, "pos-1")
	waitEvents(t, api, 1)
	second := opsConnect(t, p.Addr, opsPassword, "pos-1") // takeover
	first.ExpectClosed("190 replaced")
	waitEvents(t, api, 3)
	_, err := api.Shutdown(context.Background(), "pos-1", "maintenance at 5")
	require.NoError(t, err)
	second.Expect("130 shutdown maintenance at 5")
	second.Send("130 ok\n")
	second.ExpectClosed()
	other := opsConnect(t, p.Addr, opsPassword, "pos-2")
	waitEvents(t, api, 7)
	_, err = api.Kick(context.Background(), "pos-2")
	require.NoError(t, err)
	other.ExpectClosed("190 kicked")

	evs := waitEvents(t, api, 8)
	require.Equal(t, []string{
		"client.connected:pos-1", "client.disconnected:pos-1", "client.connected:pos-1",
		"client.shutdown_sent:pos-1", "client.shutdown_acked:pos-1", "client.disconnected:pos-1",
		"client.connected:pos-2", "client.disconnected:pos-2",
	}, typesOf(evs), "no event for the failed handshake, the rest in order")
	ids := map[string]bool{}
	for i, ev := range evs {
		assert.Equal(t, uint64(i+1), ev.Seq, "seq grows by one")
		assert.NotEmpty(t, ev.ID)
		assert.False(t, ids[ev.ID], "ids are unique")
		ids[ev.ID] = true
		assert.NotEmpty(t, ev.Session)
		assert.Equal(t, "127.0.0.1", ev.CIP)
		assert.NotZero(t, ev.SID)
		assert.False(t, ev.Time.IsZero())
	}
	s1, s2 := evs[0].Session, evs[2].Session
	assert.NotEqual(t, s1, s2, "a takeover starts a new session")
	assert.Equal(t, s1, evs[1].Session, "the replaced connection's disconnect names its own session")
	assert.Equal(t, "replaced", reasonOf(evs[1]))
	require.NotNil(t, evs[1].ConnectedAt)
	assert.Equal(t, evs[0].Time, *evs[1].ConnectedAt)
	for _, ev := range evs[3:6] {
		assert.Equal(t, s2, ev.Session)
	}
	assert.Equal(t, "maintenance at 5", reasonOf(evs[3]), "shutdown_sent carries the operator's text")
	assert.Equal(t, "shutdown", reasonOf(evs[5]))
	assert.Equal(t, "kicked", reasonOf(evs[7]))

	// The raw JSON has exactly EVENTS.md's names.
	status, body := testkit.HTTPGet(t, api.Base()+"/v1/events?after=1&limit=1")
	require.Equal(t, http.StatusOK, status)
	raw := decodeJSON[struct {
		Events []map[string]any `json:"events"`
		Next   uint64           `json:"next"`
	}](t, body)
	require.Len(t, raw.Events, 1)
	assert.Equal(t, uint64(2), raw.Next)
	for _, k := range []string{"seq", "id", "type", "time", "cid", "sid", "cip", "cport", "session", "connected_at", "reason"} {
		assert.Contains(t, raw.Events[0], k)
	}
	// Times as EVENTS.md's example: UTC, six digits of the second; the
	// disconnect's connected_at is its session's connected time.
	micros := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	assert.Regexp(t, micros, raw.Events[0]["time"])
	assert.Regexp(t, micros, raw.Events[0]["connected_at"])
	_, body = testkit.HTTPGet(t, api.Base()+"/v1/events?after=0&limit=1")
	connected := decodeJSON[struct {
		Events []map[string]any `json:"events"`
	}](t, body)
	require.Len(t, connected.Events, 1)
	assert.Equal(t, connected.Events[0]["time"], raw.Events[0]["connected_at"])

	// Without after: the newest limit events.
	newest, err := api.Events(context.Background(), nil, 2, admin.EventsFilter{}, 0)
	require.NoError(t, err)
	require.Len(t, newest.Events, 2)
	assert.Equal(t, []uint64{7, 8}, []uint64{newest.Events[0].Seq, newest.Events[1].Seq})
	assert.Equal(t, uint64(8), newest.Next)
}

func TestEventsBinaryFiltersAndHistory(t *testing.T) {
	p, api := eventsServer(t, t.TempDir())
	for i := range 3 {
		c := opsConnect(t, p.Addr, opsPassword, "flappy")
		waitEvents(t, api, 2*i+1)
		_, err := api.Kick(context.Background(), "flappy")
		require.NoError(t, err)
		c.ExpectClosed("190 kicked")
	}
	steady := opsConnect(t, p.Addr, opsPassword, "steady")
	defer steady.Conn.Close()
	waitEvents(t, api, 7)

	disc := allEvents(t, api, admin.EventsFilter{Types: []string{events.TypeDisconnected}})
	require.Len(t, disc, 3)
	for _, ev := range disc {
		assert.Equal(t, "flappy", ev.CID)
	}
	mine := allEvents(t, api, admin.EventsFilter{CID: "steady"})
	require.Len(t, mine, 1)
	assert.Equal(t, events.TypeConnected, mine[0].Type)
	both := allEvents(t, api, admin.EventsFilter{CID: "flappy", Types: []string{events.TypeConnected, events.TypeDisconnected}})
	assert.Len(t, both, 6)
	newestOfFlappy, err := api.Events(context.Background(), nil, 1, admin.EventsFilter{CID: "flappy"}, 0)
	require.NoError(t, err)
	require.Len(t, newestOfFlappy.Events, 1)
	assert.Equal(t, uint64(6), newestOfFlappy.Events[0].Seq)

	status, body := testkit.HTTPGet(t, api.Base()+"/v1/events?type=client.nope")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "client.disconnected", "the error lists the known types")
	status, _ = testkit.HTTPGet(t, api.Base()+"/v1/events?limit=1001")
	assert.Equal(t, http.StatusOK, status, "more than the most is the most")
	status, _ = testkit.HTTPGet(t, api.Base()+"/v1/events?limit=0")
	assert.Equal(t, http.StatusBadRequest, status)

	h, err := api.History(context.Background(), "flappy", 0)
	require.NoError(t, err)
	require.Len(t, h.Sessions, 3)
	for i, s := range h.Sessions {
		assert.NotEmpty(t, s.Session)
		assert.Equal(t, "kicked", s.Reason)
		require.NotNil(t, s.DisconnectedAt)
		require.NotNil(t, s.ConnectedAt)
		if i > 0 {
			assert.True(t, h.Sessions[i-1].ConnectedAt.After(*s.ConnectedAt) || h.Sessions[i-1].ConnectedAt.Equal(*s.ConnectedAt), "newest first")
		}
	}
	h, err = api.History(context.Background(), "flappy", 2)
	require.NoError(t, err)
	assert.Len(t, h.Sessions, 2)
	h, err = api.History(context.Background(), "steady", 0)
	require.NoError(t, err)
	require.Len(t, h.Sessions, 1)
	assert.Nil(t, h.Sessions[0].DisconnectedAt, "still connected")
	assert.Equal(t, "", h.Sessions[0].Reason)
	_, err = api.History(context.Background(), "nobody", 0)
	var se *admin.StatusError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, http.StatusNotFound, se.Status)
}

// seq never goes back: a graceful stop's disconnects are in the log, a
// kill -9 leaves "server restarted" for the next start to say, and a
// reader resumes after the last seq it had without losing anything.
func TestEventsBinaryResumeAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	p, api := eventsServer(t, dir)
	c := opsConnect(t, p.Addr, opsPassword, "a")
	before := waitEvents(t, api, 1)
	lastSeen := before[len(before)-1].Seq
	p.Terminate(t)
	c.ExpectClosed("190 server shutting down")
	require.Equal(t, 0, p.Wait(t))

	p, api = eventsServer(t, dir)
	resumed, err := api.Events(context.Background(), &lastSeen, 100, admin.EventsFilter{}, 0)
	require.NoError(t, err)
	require.Len(t, resumed.Events, 1, "the graceful stop's disconnect")
	assert.Equal(t, "server shutting down", reasonOf(resumed.Events[0]))
	assert.Equal(t, before[0].Session, resumed.Events[0].Session)
	c = opsConnect(t, p.Addr, opsPassword, "a")
	evs := waitEvents(t, api, 3)
	assert.Equal(t, uint64(3), evs[2].Seq, "seq goes on from where it was")
	assert.Equal(t, events.TypeConnected, evs[2].Type)
	// The registry writes behind (every 250ms): the contract is that a
	// client registered more than a second before a crash is on disk, so
	// the test waits out that second, as the registry's own crash test.
	time.Sleep(1100 * time.Millisecond)
	require.NoError(t, p.Cmd.Process.Kill())
	p.WaitExit(t)
	c.Conn.Close()

	p, api = eventsServer(t, dir)
	evs = waitEvents(t, api, 4)
	require.Len(t, evs, 4)
	assert.Equal(t, uint64(4), evs[3].Seq)
	assert.Equal(t, events.TypeDisconnected, evs[3].Type)
	assert.Equal(t, "server restarted", reasonOf(evs[3]), "a crash is said at the next start")
	assert.Equal(t, evs[2].Session, evs[3].Session)
	_ = p
}

// A kill -9 right after events reach the log, before the registry's next
// write (250 ms): each session still ends once in the log. An event-log
// audit saw a closed session end again as "server restarted" at the next
// start (its record was still connected on disk), and one registered
// just before the kill never end at all (its record never reached it).
func TestEventsBinaryEachSessionEndsOnceAfterAKill(t *testing.T) {
	dir := t.TempDir()
	p, api := eventsServer(t, dir)
	closed := opsConnect(t, p.Addr, opsPassword, "closed")
	require.NoError(t, closed.Conn.Close())
	live := opsConnect(t, p.Addr, opsPassword, "live")
	waitEvents(t, api, 3)
	require.NoError(t, p.Cmd.Process.Kill())
	p.WaitExit(t)
	_ = live.Conn.Close()

	_, api = eventsServer(t, dir)
	evs := waitEvents(t, api, 4)
	ends := map[string][]string{} // reasons by session
	for _, ev := range evs {
		if ev.Type == events.TypeConnected {
			ends[ev.Session] = ends[ev.Session][:0:0]
		}
	}
	for _, ev := range evs {
		if ev.Type == events.TypeDisconnected {
			ends[ev.Session] = append(ends[ev.Session], reasonOf(ev))
		}
	}
	require.Len(t, ends, 2, "%+v", evs)
	for session, reasons := range ends {
		assert.Len(t, reasons, 1, "session %s ended %v", session, reasons)
	}
	assert.Contains(t, slices.Concat(slices.Collect(maps.Values(ends))...), "closed by client")
	assert.Contains(t, slices.Concat(slices.Collect(maps.Values(ends))...), "server restarted")
	rec, err := api.Get(context.Background(), "live")
	require.NoError(t, err)
	assert.Equal(t, "server restarted", rec.Reason, "the record says it too")
}

// A run with the event log off, stopped cleanly, leaves records whose
// connects the log lacks: the next start logs them, and its warning names
// both causes. It blamed a kill -9 that never was (dashboard audit).
func TestEventsBinaryConnectsOfARunWithoutTheLogAreNotBlamedOnAKill(t *testing.T) {
	dir := t.TempDir()
	p, _ := eventsServer(t, dir) // the log's file, from a run with it on
	opsConnect(t, p.Addr, opsPassword, "logged")
	require.Equal(t, 0, p.Stop(t))
	p, _ = eventsServer(t, dir, "--event-retention", "0")
	opsConnect(t, p.Addr, opsPassword, "unlogged")
	require.Equal(t, 0, p.Stop(t))

	p, _ = eventsServer(t, dir)
	p.WaitLog(t, 10*time.Second, "event log: it lacks the connects of sessions the registry's file holds (a kill -9 "+
		"before the log's write, or a run with --event-retention 0)", `"sessions":1`)
}

func TestEventsBinaryGoneAfterRetention(t *testing.T) {
	p, api := eventsServer(t, t.TempDir(), "--event-retention", "4")
	for range 5 {
		c := opsConnect(t, p.Addr, opsPassword, "r")
		c.Conn.Close()
	}
	var newest admin.EventsResponse
	require.Eventually(t, func() bool {
		var err error
		newest, err = api.Events(context.Background(), nil, 100, admin.EventsFilter{}, 0)
		return err == nil && newest.Next == 10 && len(newest.Events) == 4
	}, waitFor, 20*time.Millisecond, "the log keeps the newest 4 of 10")
	assert.Equal(t, uint64(7), newest.Events[0].Seq)

	status, body := testkit.HTTPGet(t, api.Base()+"/v1/events?after=2")
	require.Equal(t, http.StatusGone, status)
	gone := decodeJSON[admin.GoneResponse](t, body)
	assert.Equal(t, uint64(7), gone.Oldest)
	assert.NotEmpty(t, gone.Error)
	ok, err := api.Events(context.Background(), &newest.Events[0].Seq, 100, admin.EventsFilter{}, 0)
	require.NoError(t, err, "after = oldest-1 is whole")
	assert.Len(t, ok.Events, 3)

	status, body = testkit.HTTPDo(t, http.MethodGet, api.Base()+"/v1/events/stream", "", http.Header{"Last-Event-ID": {"1"}})
	require.Equal(t, http.StatusGone, status, "410 before the stream starts")
	gone = decodeJSON[admin.GoneResponse](t, body)
	assert.Equal(t, uint64(7), gone.Oldest)
	status, _ = testkit.HTTPGet(t, api.Base()+"/v1/events/stream?after=3&cid=r")
	require.Equal(t, http.StatusGone, status)

	// events tail from a seq no longer kept says so and prints from the
	// oldest kept on, that one included.
	tail := startTail(t, api.Base(), "--after", "2", "-o", "json")
	assert.EqualValues(t, 7, tail.nextJSON(t).Seq, "the oldest kept is printed")
	require.Eventually(t, func() bool {
		return strings.Contains(tail.stderr.String(), "cliser: events after 2 are no longer kept; continuing from the oldest kept, 7\n")
	}, waitFor, 20*time.Millisecond, "the gap said: %s", tail.stderr.String())
}

// A cursor past the newest seq a single node's log gave is another
// log's (a data dir lost whole, events.seq with it; another server): 410,
// with the newest seq, for the list and the stream, where it waited
// without a word for the log to pass it; and events tail goes on after
// the newest (found by the events audit).
func TestEventsBinaryGoneForACursorPastTheNewest(t *testing.T) {
	p, api := eventsServer(t, t.TempDir())
	c := opsConnect(t, p.Addr, opsPassword, "ahead-1")
	c.Conn.Close()
	require.Eventually(t, func() bool { return eventsNewest(t, api) == 2 }, waitFor, 20*time.Millisecond)

	status, body := testkit.HTTPGet(t, api.Base()+"/v1/events?after=100&wait=10s")
	require.Equal(t, http.StatusGone, status, body)
	gone := decodeJSON[admin.GoneResponse](t, body)
	require.NotNil(t, gone.Newest)
	assert.EqualValues(t, 2, *gone.Newest)
	assert.Contains(t, gone.Error, "past the newest this server's event log has given, 2")
	status, body = testkit.HTTPDo(t, http.MethodGet, api.Base()+"/v1/events/stream", "", http.Header{"Last-Event-ID": {"100"}})
	require.Equal(t, http.StatusGone, status, "410 before the stream starts: %s", body)
	status, body = testkit.HTTPGet(t, api.Base()+"/v1/events?after=2")
	assert.Equal(t, http.StatusOK, status, "the newest itself is this log's: %s", body)

	tail := startTail(t, api.Base(), "--after", "100", "-o", "json")
	time.Sleep(300 * time.Millisecond) // let the tail meet the 410 first; it must work either way
	c = opsConnect(t, p.Addr, opsPassword, "ahead-2")
	defer c.Conn.Close()
	ev := tail.nextJSON(t)
	assert.EqualValues(t, 3, ev.Seq, "the tail went on after the newest")
	assert.Equal(t, "ahead-2", ev.CID)
}

func eventsNewest(t *testing.T, api *admin.Client) uint64 {
	t.Helper()
	r, err := api.Events(context.Background(), nil, 1, admin.EventsFilter{}, 0)
	require.NoError(t, err)
	return r.Next
}

func TestEventsBinaryLongPoll(t *testing.T) {
	p, api := eventsServer(t, t.TempDir())
	after := uint64(0)
	start := time.Now()
	resp, err := api.Events(context.Background(), &after, 0, admin.EventsFilter{}, 300*time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, resp.Events)
	assert.Equal(t, uint64(0), resp.Next, "an empty answer gives back after")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "it waited")

	got := make(chan admin.EventsResponse, 1)
	go func() {
		c, _ := admin.NewClient(api.Base(), "", 30*time.Second)
		r, err := c.Events(context.Background(), &after, 0, admin.EventsFilter{}, 20*time.Second)
		if err == nil {
			got <- r
		}
		close(got)
	}()
	time.Sleep(100 * time.Millisecond) // let the poll start waiting; it must work either way
	c := opsConnect(t, p.Addr, opsPassword, "lp")
	defer c.Conn.Close()
	select {
	case r, ok := <-got:
		require.True(t, ok, "the long-poll failed")
		require.Len(t, r.Events, 1)
		assert.Equal(t, "lp", r.Events[0].CID)
		assert.Equal(t, uint64(1), r.Next)
	case <-time.After(15 * time.Second):
		t.Fatal("the long-poll did not return when an event came")
	}
	status, _ := testkit.HTTPGet(t, api.Base()+"/v1/events?after=0&wait=forever")
	assert.Equal(t, http.StatusBadRequest, status)
}

// On a single node every client event and history session names the node:
// --node-id, else the host name. They named none ("node": "" in history).
func TestEventsBinaryNodeOnASingleNode(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-id", "n1"}, "n1"},
		{nil, defaultNodeID()},
	} {
		require.NotEmpty(t, c.want, "the host name")
		p, api := eventsServer(t, t.TempDir(), c.args...)
		cl := opsConnect(t, p.Addr, opsPassword, "where-1")
		cl.Conn.Close()
		evs := waitEvents(t, api, 2)
		for _, ev := range evs {
			assert.Equal(t, c.want, ev.Node, "%v: %s %d", c.args, ev.Type, ev.Seq)
		}
		status, body := testkit.HTTPGet(t, api.Base()+"/v1/clients/where-1/history")
		require.Equal(t, http.StatusOK, status)
		raw := decodeJSON[struct {
			Sessions []map[string]any `json:"sessions"`
		}](t, body)
		require.Len(t, raw.Sessions, 1)
		assert.Equal(t, c.want, raw.Sessions[0]["node"], "%v: %s", c.args, body)
		require.Equal(t, 0, p.Stop(t))
	}
}

// A SIGTERM with long-polls pending answers them at once (an empty answer,
// next its after) and exits promptly: it used to wait out the whole
// --shutdown-timeout and cut the long-poll off unanswered (curl: "empty
// reply from server").
func TestEventsBinaryLongPollAtSIGTERM(t *testing.T) {
	p, api := eventsServer(t, t.TempDir(), "--shutdown-timeout", "10s")
	c := opsConnect(t, p.Addr, opsPassword, "sig-1")
	c.Conn.Close()
	waitEvents(t, api, 2)
	type polled struct {
		resp admin.EventsResponse
		err  error
	}
	polls := map[string]chan polled{}
	for _, q := range []string{"after=2", "after=0&type=client.shutdown_acked"} {
		got := make(chan polled, 1)
		polls[q] = got
		wrote := make(chan struct{})
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodGet, api.Base()+"/v1/events?wait=60s&"+q, nil)
		require.NoError(t, err)
		go func() {
			var pl polled
			r, err := http.DefaultClient.Do(req)
			if err == nil {
				defer r.Body.Close()
				if r.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", r.StatusCode)
				} else {
					err = json.NewDecoder(r.Body).Decode(&pl.resp)
				}
			}
			pl.err = err
			got <- pl
		}()
		select { // in flight: the server has it
		case <-wrote:
		case <-time.After(waitFor):
			t.Fatalf("%s was never sent", q)
		}
	}

	start := time.Now()
	require.Equal(t, 0, p.Stop(t))
	assert.Less(t, time.Since(start), 5*time.Second, "the stop waited on the long-polls")
	for q, next := range map[string]uint64{"after=2": 2, "after=0&type=client.shutdown_acked": 0} {
		select {
		case pl := <-polls[q]:
			require.NoError(t, pl.err, q)
			assert.Empty(t, pl.resp.Events, q)
			assert.Equal(t, next, pl.resp.Next, q)
		case <-time.After(waitFor):
			t.Fatalf("%s: no answer", q)
		}
	}
	assert.NotContains(t, p.LogText(), "requests still in flight")
}

// sseReader reads one SSE connection's events.
type sseReader struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openSSE(t *testing.T, url string, header http.Header) *sseReader {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	t.Cleanup(func() { resp.Body.Close() })
	return &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next reads the next event's id, event and data lines (skipping comments).
func (r *sseReader) next(t *testing.T) (id uint64, typ string, ev events.Event) {
	t.Helper()
	deadline := time.AfterFunc(15*time.Second, func() { r.resp.Body.Close() })
	defer deadline.Stop()
	var gotData bool
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "" && gotData:
			return id, typ, ev
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev = decodeJSON[events.Event](t, strings.TrimPrefix(line, "data: "))
			gotData = true
		}
	}
	t.Fatalf("stream ended: %v", r.sc.Err())
	return
}

func TestEventsBinaryStreamResume(t *testing.T) {
	p, api := eventsServer(t, t.TempDir())
	a := opsConnect(t, p.Addr, opsPassword, "s1")
	waitEvents(t, api, 1)

	live := openSSE(t, api.Base()+"/v1/events/stream", nil) // only new events
	b := opsConnect(t, p.Addr, opsPassword, "s2")
	id, typ, ev := live.next(t)
	assert.Equal(t, uint64(2), id, "the event before the stream opened is not sent")
	assert.Equal(t, events.TypeConnected, typ)
	assert.Equal(t, "s2", ev.CID)
	assert.Equal(t, id, ev.Seq)
	live.resp.Body.Close() // the consumer drops

	a.Conn.Close()
	waitEvents(t, api, 3)
	b.Conn.Close()
	waitEvents(t, api, 4)
	resumed := openSSE(t, api.Base()+"/v1/events/stream", http.Header{"Last-Event-ID": {"2"}})
	var seqs []uint64
	for range 2 {
		id, typ, _ := resumed.next(t)
		assert.Equal(t, events.TypeDisconnected, typ)
		seqs = append(seqs, id)
	}
	assert.Equal(t, []uint64{3, 4}, seqs, "resumed right after Last-Event-ID, nothing lost or repeated")
	c := opsConnect(t, p.Addr, opsPassword, "s3")
	defer c.Conn.Close()
	id, _, ev = resumed.next(t)
	assert.Equal(t, uint64(5), id, "and it goes on live")
	assert.Equal(t, "s3", ev.CID)

	filtered := openSSE(t, api.Base()+"/v1/events/stream?after=0&type=client.disconnected&cid=s2", nil)
	id, _, ev = filtered.next(t)
	assert.Equal(t, uint64(4), id)
	assert.Equal(t, "s2", ev.CID)
}

// `cliser events tail`, the built binary, against a real server: it prints
// one line per event, -o json prints the events, and it resumes by itself
// across a server restart without losing or repeating an event.
func TestEventsBinaryTail(t *testing.T) {
	dir := t.TempDir()
	p, api := eventsServer(t, dir)
	c := opsConnect(t, p.Addr, opsPassword, "t1")
	waitEvents(t, api, 1)

	tailOut := startTail(t, api.Base(), "--after", "0", "-o", "json")
	tailTable := startTail(t, api.Base(), "--after", "0", "--type", "client.connected")
	ev := tailOut.nextJSON(t)
	assert.Equal(t, uint64(1), ev.Seq)
	assert.Equal(t, "t1", ev.CID)
	line := tailTable.nextLine(t)
	assert.Contains(t, line, "client.connected")
	assert.Contains(t, line, "cid=t1")
	assert.True(t, strings.HasPrefix(line, "1 "), "the line starts with the seq: %q", line)

	p.Terminate(t)
	c.ExpectClosed("190 server shutting down")
	p.Wait(t)
	// A new server on another admin port would not be found by the tail:
	// restart on the same one.
	addr := strings.TrimPrefix(api.Base(), "http://")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p2 := testkit.Serve(t, env, serveArgsAdmin(dir, addr)...)
	c2 := opsConnect(t, p2.Addr, opsPassword, "t2")
	defer c2.Conn.Close()

	ev = tailOut.nextJSON(t)
	assert.Equal(t, uint64(2), ev.Seq, "the drain's disconnect, sent before or after the drop, once")
	assert.Equal(t, "server shutting down", reasonOf(ev))
	ev = tailOut.nextJSON(t)
	assert.Equal(t, uint64(3), ev.Seq)
	assert.Equal(t, "t2", ev.CID)
	assert.Contains(t, tailOut.stderr.String(), "stream dropped (the server ended the stream: the server is shutting down); reconnecting",
		"the clean stop named by the server, not \"unexpected EOF\" (events audit) nor a guess (stream audit)")
	assert.Equal(t, 1, strings.Count(tailOut.stderr.String(), "stream dropped"),
		"one outage, one drop; its retries say \"still no stream\": %s", tailOut.stderr.String())
	require.Eventually(t, func() bool {
		return strings.Contains(tailOut.stderr.String(), "cliser: reconnected; resuming after the last event printed\n")
	}, waitFor, 20*time.Millisecond, "the reconnect said as one: %s", tailOut.stderr.String())
	line = tailTable.nextLine(t)
	assert.Contains(t, line, "cid=t2")
}

func serveArgsAdmin(dataDir, adminAddr string) []string {
	return []string{"--listen", "127.0.0.1:0", "--admin-listen", adminAddr, "--data-dir", dataDir, "--keepalive-interval", "1h"}
}

type tailProc struct {
	lines  chan string
	stderr *testkit.LockedBuffer
}

func startTail(t *testing.T, admin string, args ...string) *tailProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, testkit.Binary(t), append([]string{"events", "tail", "--admin", admin}, args...)...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	tp := &tailProc{lines: make(chan string, 100), stderr: &testkit.LockedBuffer{}}
	cmd.Stderr = tp.stderr
	require.NoError(t, tied.Start(cmd))
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			tp.lines <- sc.Text()
		}
		close(tp.lines)
	}()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return tp
}

func (tp *tailProc) nextLine(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-tp.lines:
		require.True(t, ok, "tail exited")
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("tail printed nothing")
	}
	return ""
}

func (tp *tailProc) nextJSON(t *testing.T) events.Event {
	t.Helper()
	return decodeJSON[events.Event](t, tp.nextLine(t))
}

// Credential and ban changes are events too, and no secret is in them.
func TestEventsBinaryCredentialsAndBans(t *testing.T) {
	_, api := eventsServer(t, t.TempDir())
	status, body := testkit.HTTPDo(t, http.MethodPost, api.Base()+"/v1/credentials/dev-7", "", nil)
	require.Less(t, status, 300, body)
	cred := decodeJSON[struct {
		Secret string `json:"secret"`
	}](t, body)
	status, body = testkit.HTTPDo(t, http.MethodPost, api.Base()+"/v1/bans", `{"kind": "ip", "value": "192.0.2.9", "reason": "scanner"}`, nil)
	require.Less(t, status, 300, body)
	status, body = testkit.HTTPDo(t, http.MethodDelete, api.Base()+"/v1/bans/ip/192.0.2.9", "", nil)
	require.Less(t, status, 300, body)
	status, body = testkit.HTTPDo(t, http.MethodDelete, api.Base()+"/v1/credentials/dev-7", "", nil)
	require.Less(t, status, 300, body)

	evs := waitEvents(t, api, 4)
	require.Equal(t, []string{"credential.created:dev-7", "ban.created:", "ban.deleted:", "credential.deleted:dev-7"}, typesOf(evs))
	assert.Equal(t, "ip", evs[1].Kind)
	assert.Equal(t, "192.0.2.9", evs[1].Value)
	assert.Equal(t, "scanner", reasonOf(evs[1]))
	assert.Nil(t, evs[0].Reason)
	_, raw := testkit.HTTPGet(t, api.Base()+"/v1/events?after=0")
	if cred.Secret != "" {
		assert.NotContains(t, raw, cred.Secret, "never the secret")
	}
}

// Three serve processes on one real nats-server: the cluster's log has one
// order, every node reads the same events with the same seqs, and a lost
// node's clients get their client.disconnected, reason "node lost", once
// for the cluster, with the lost node's name and the lost session.
func TestEventsBinaryCluster(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)

	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "CLISER_CLUSTER=" + ns.ClientURL()}
	names := []string{"alpha", "beta", "gamma"}
	procs := map[string]*testkit.Served{}
	apis := map[string]*admin.Client{}
	for _, name := range names {
		procs[name] = testkit.Serve(t, env, serveArgs(t.TempDir(), "--node-id", name, "--cluster-heartbeat", "3s")...)
		apis[name] = apiOf(t, procs[name])
	}

	// Clients on every node, at once: the nodes publish concurrently.
	for i := range 3 {
		for _, name := range names {
			c := opsConnect(t, procs[name].Addr, opsPassword, fmt.Sprintf("%s-%d", name, i))
			if i < 2 {
				c.Conn.Close()
			}
		}
	}
	const total = 3*3 + 2*3 // a connect each, a disconnect for two of each node's three
	var logs [][]events.Event
	for _, name := range names {
		logs = append(logs, waitEvents(t, apis[name], total))
	}
	for i, evs := range logs {
		require.Len(t, evs, total, "%s: %v", names[i], reasonsOf(evs))
		for j, ev := range evs {
			assert.Equal(t, uint64(j+1), ev.Seq, "one gapless order")
			assert.Equal(t, logs[0][j].ID, ev.ID, "%s reads the same event at seq %d", names[i], ev.Seq)
		}
	}
	for _, ev := range logs[0] {
		require.NotEmpty(t, ev.Node)
		assert.Contains(t, ev.CID, ev.Node, "each event names the node that held the session")
	}
	// Per client, connect before disconnect.
	seen := map[string]string{}
	for _, ev := range logs[0] {
		if ev.Type == events.TypeDisconnected {
			assert.Equal(t, events.TypeConnected, seen[ev.CID], ev.CID)
		}
		seen[ev.CID] = ev.Type
	}

	// gamma dies with its client gamma-2 connected.
	require.Eventually(t, func() bool {
		rec, err := apis["alpha"].Get(context.Background(), "gamma-2")
		return err == nil && rec.CStatus
	}, waitFor, 20*time.Millisecond, "alpha sees gamma's client connected")
	var session string
	for _, ev := range logs[0] {
		if ev.CID == "gamma-2" {
			session = ev.Session
		}
	}
	require.NoError(t, procs["gamma"].Cmd.Process.Kill())
	procs["gamma"].WaitExit(t)

	lost := func() []events.Event {
		return allEvents(t, apis["alpha"], admin.EventsFilter{CID: "gamma-2", Types: []string{events.TypeDisconnected}})
	}
	require.Eventually(t, func() bool { return len(lost()) > 0 }, 20*time.Second, 50*time.Millisecond,
		"a disconnect for the lost node's client")
	ev := lost()[0]
	assert.Equal(t, "node lost", reasonOf(ev))
	assert.Equal(t, "gamma", ev.Node, "with the lost node's name")
	assert.Equal(t, session, ev.Session, "and the lost session")
	require.NotNil(t, ev.ConnectedAt)
	// Both survivors check every half heartbeat; give them several rounds
	// to say it again, which they must not.
	newest := waitEvents(t, apis["alpha"], total+1)
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		_, err := apis["beta"].Events(context.Background(), &newest[len(newest)-1].Seq, 0, admin.EventsFilter{}, 500*time.Millisecond)
		require.NoError(t, err)
	}
	assert.Len(t, lost(), 1, "once for the cluster")
	fromBeta := allEvents(t, apis["beta"], admin.EventsFilter{CID: "gamma-2"})
	assert.Len(t, fromBeta, 2, "beta reads the same")

	h, err := apis["beta"].History(context.Background(), "gamma-2", 0)
	require.NoError(t, err)
	require.Len(t, h.Sessions, 1)
	assert.Equal(t, "node lost", h.Sessions[0].Reason)
	assert.Equal(t, "gamma", h.Sessions[0].Node)
}

func reasonsOf(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = fmt.Sprintf("%d %s %s by-%s %s", ev.Seq, ev.Type, ev.CID, ev.Node, reasonOf(ev))
	}
	return out
}

// A stream refused before one was ever up (503: every event-wait slot
// held) is said as not available yet, not as "stream dropped", and the
// tail connects once a slot frees (review: "dropped" of a stream never up
// sent the reader looking for a connection that never was).
func TestEventsBinaryTailSaysAStreamNeverUpIsNotDropped(t *testing.T) {
	t.Parallel()
	p, api := eventsServer(t, t.TempDir(), "--admin-max-connections", "2") // one event wait
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api.Base()+"/v1/events/stream", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the one slot held")

	tp := startTail(t, api.Base())
	require.Eventually(t, func() bool { return strings.Contains(tp.stderr.String(), "the event stream is not available yet") },
		10*time.Second, 10*time.Millisecond, tp.stderr.String())
	assert.NotContains(t, tp.stderr.String(), "stream dropped")
	cancel()
	_ = resp.Body.Close()
	require.Eventually(t, func() bool { return strings.Contains(tp.stderr.String(), "cliser: connected") },
		15*time.Second, 10*time.Millisecond, tp.stderr.String())
	c := opsConnect(t, p.Addr, opsPassword, "after-the-wait")
	defer c.Conn.Close()
	assert.Contains(t, tp.nextLine(t), "cid=after-the-wait")
}

// --type given twice follows both types: a string flag kept the last one
// alone and said nothing (CLI audit). --cid given twice is refused.
func TestEventsBinaryTailTypeGivenTwice(t *testing.T) {
	p, api := eventsServer(t, t.TempDir())
	opsConnect(t, p.Addr, opsPassword, "twice-1")
	status, body := testkit.HTTPDo(t, http.MethodPost, api.Base()+"/v1/bans", `{"kind": "ip", "value": "192.0.2.7"}`, nil)
	require.Less(t, status, 300, body)
	waitEvents(t, api, 2)

	tp := startTail(t, api.Base(), "--after", "0", "-o", "json", "--type", "client.connected", "--type", "ban.created")
	assert.Equal(t, "client.connected", tp.nextJSON(t).Type)
	assert.Equal(t, "ban.created", tp.nextJSON(t).Type)

	_, _, err := runCLI(t, "events", "tail", "--admin", api.Base(), "--cid", "a", "--cid", "b")
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err), err.Error())
	assert.Contains(t, err.Error(), "--cid is given 2 times")
}
