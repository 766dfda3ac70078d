package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

const whSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the Standard Webhooks test vector's

// hookReceiver is a real HTTP receiver that checks each signature by hand
// (HMAC-SHA256 over id.timestamp.body) and keeps the verified events.
type hookReceiver struct {
	srv  *httptest.Server
	hold time.Duration // hang this long before answering (0: answer at once)

	mu       sync.Mutex
	requests int
	bad      int
	events   []events.Event
	ids      []string // the webhook-id each event came with
}

func newHookReceiver(t *testing.T, hold time.Duration) *hookReceiver {
	h := &hookReceiver{hold: hold}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

// listenOn moves the receiver to addr (a receiver coming back up).
func (h *hookReceiver) listenOn(t *testing.T, addr string) {
	h.srv = testkit.RestartHTTPOn(t, h.srv, addr, http.HandlerFunc(h.serve))
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.requests++
	h.mu.Unlock()
	if h.hold > 0 {
		select {
		case <-r.Context().Done():
		case <-time.After(h.hold):
		}
		return
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(whSecret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var p struct {
		Type string `json:"type"`
		Data struct {
			Events []events.Event `json:"events"`
		} `json:"data"`
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get("webhook-signature")), []byte(want)) || json.Unmarshal(body, &p) != nil || p.Type != "cliser.events" {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.events = append(h.events, p.Data.Events...)
	for range p.Data.Events {
		h.ids = append(h.ids, r.Header.Get("webhook-id"))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) snapshot() (requests, bad int, evs []events.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests, h.bad, append([]events.Event(nil), h.events...)
}

func webhookEnv() []string {
	return []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "CLISER_WEBHOOK_SECRET=" + whSecret}
}

// TestBinaryWebhookReceiverDownAcrossRestart: the receiver is down while
// clients come and go and while cliser restarts (SIGTERM, same data dir);
// once it is up it gets every event of both runs, once each, in order.
func TestBinaryWebhookReceiverDownAcrossRestart(t *testing.T) {
	dataDir := t.TempDir()
	addr := testkit.FreeAddr(t) // down: connections are refused
	args := serveArgs(dataDir, "--webhook-url", "http://"+addr+"/hook", "--webhook-linger", "20ms")

	p := testkit.Serve(t, webhookEnv(), args...)
	for i := range 5 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("first-%d", i))
	}
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "did not acknowledge") }, waitFor, tick,
		"the first run tried the dead receiver")
	require.Equal(t, 0, p.Stop(t))

	p2 := testkit.Serve(t, webhookEnv(), args...)
	for i := range 5 {
		opsConnect(t, p2.Addr, opsPassword, fmt.Sprintf("second-%d", i))
	}
	var out string // cliser status says the receiver is away, the server ready
	require.Eventually(t, func() bool {
		out, _, _ = runCLI(t, "status", "--admin", p2.AdminURL(t))
		return strings.Contains(out, "has not acknowledged since")
	}, waitFor, tick, "cliser status never named the webhook's trouble:\n%s", out)
	assert.Regexp(t, `(?m)^health:\s+ready\n\s+webhook: http://`+regexp.QuoteMeta(addr)+`/hook has not acknowledged since .*; retrying, \d+ events wait$`, out)
	rc := newHookReceiver(t, 0)
	rc.listenOn(t, addr)
	// 5 connected + 5 disconnected (server shutting down) + 5 connected.
	require.Eventually(t, func() bool { _, _, evs := rc.snapshot(); return len(evs) >= 15 }, 60*time.Second, 20*time.Millisecond,
		"every event after the receiver came up")
	_, bad, evs := rc.snapshot()
	require.Zero(t, bad, "every request verified")
	connected := map[string]bool{}
	for i, e := range evs {
		require.EqualValues(t, i+1, e.Seq, "every event once, in log order")
		if e.Type == events.TypeConnected {
			connected[e.CID] = true
		}
	}
	for i := range 5 {
		assert.True(t, connected[fmt.Sprintf("first-%d", i)])
		assert.True(t, connected[fmt.Sprintf("second-%d", i)])
	}
}

// TestBinaryWebhookHangingReceiverDoesNotSlowHandshakes: with a receiver
// that holds every request 20 s, handshakes take about as long as on a
// server without a webhook (measured in the same test; generous bound).
func TestBinaryWebhookHangingReceiverDoesNotSlowHandshakes(t *testing.T) {
	const n = 300
	measure := func(p *testkit.Served, prefix string) time.Duration {
		start := time.Now()
		for i := range n {
			c := opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("%s-%d", prefix, i))
			_ = c.Conn.Close()
		}
		return time.Since(start)
	}
	none := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir())...)
	measure(none, "warm") // first connections pay for page faults
	base := measure(none, "none")

	rc := newHookReceiver(t, 20*time.Second)
	hung := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir(), "--webhook-url", rc.srv.URL, "--webhook-linger", "1ms")...)
	opsConnect(t, hung.Addr, opsPassword, "first")
	// A first delivery waits for the log's commit, the deliverer's start and
	// its first batch: under CI's parallel race-built packages that once
	// took longer than waitFor, so it gets the delivery deadline the other
	// webhook tests here use, and the server's log if it still fails.
	if !assert.Eventually(t, func() bool { r, _, _ := rc.snapshot(); return r >= 1 }, 60*time.Second, tick, "a request is hanging") {
		t.Fatalf("no request reached the receiver; the server's log:\n%s", hung.LogText())
	}
	measure(hung, "warm")
	slow := measure(hung, "hung")
	t.Logf("%d handshakes: %v without a webhook, %v with a receiver hanging 20 s", n, base, slow)
	assert.Less(t, slow, 3*base+2*time.Second, "a hanging receiver slowed handshakes")
}

// TestBinaryWebhookConfigMistakesExitTwo: a webhook without a secret, a
// bad secret, a bad URL, or without the event log is refused at start with
// what to fix, and the secret never shows. A secret's mistake names where
// the secret came from: it named --webhook-url, and to an empty
// --webhook-secret-file said to give a --webhook-secret-file.
func TestBinaryWebhookConfigMistakesExitTwo(t *testing.T) {
	badSecret := "whsec_c2hvcnQ!" // not base64 (a short key is no mistake: docs/events.md)
	dir := t.TempDir()
	emptyFile := writeFile(t, dir, "empty-secrets", "\n")
	badFile := writeFile(t, dir, "bad-secrets", whSecret+"\n"+badSecret+"\n")
	hook := []string{"--webhook-url", "http://127.0.0.1:9/hook"}
	for name, tc := range map[string]struct {
		env  []string
		args []string
		want string
	}{
		"no secret":  {nil, hook, "CLISER_WEBHOOK_SECRET"},
		"bad secret": {[]string{"CLISER_WEBHOOK_SECRET=" + badSecret}, hook, "cliser: CLISER_WEBHOOK_SECRET: secret 1 of 1: webhook: a signing secret must be whsec_"},
		"empty file": {nil, append(hook, "--webhook-secret-file", emptyFile), "--webhook-secret-file " + emptyFile + " holds no secret: put one whsec_<base64> in it"},
		"bad file":   {nil, append(hook, "--webhook-secret-file", badFile), "cliser: --webhook-secret-file " + badFile + ": secret 2 of 2: webhook: a signing secret must be whsec_"},
		"bad either": {[]string{"CLISER_WEBHOOK_SECRET=" + whSecret}, append(hook, "--webhook-secret-file", badFile),
			"CLISER_WEBHOOK_SECRET and --webhook-secret-file " + badFile + " (its secrets counted after the variable's): secret 3 of 3"},
		"bad url": {[]string{"CLISER_WEBHOOK_SECRET=" + whSecret}, []string{"--webhook-url", "127.0.0.1:9/hook"}, "http:// or https://"},
		"no log":  {[]string{"CLISER_WEBHOOK_SECRET=" + whSecret}, []string{"--webhook-url", "http://127.0.0.1:9/hook", "--event-retention", "0"}, "--event-retention"},
		"batch":   {[]string{"CLISER_WEBHOOK_SECRET=" + whSecret}, []string{"--webhook-url", "http://127.0.0.1:9/hook", "--webhook-batch", "0"}, "--webhook-batch"},
		"batch over": {[]string{"CLISER_WEBHOOK_SECRET=" + whSecret}, []string{"--webhook-url", "http://127.0.0.1:9/hook", "--webhook-batch", "1001"},
			"--webhook-batch must be 1..1000, got 1001"},
	} {
		env := testkit.Environ([]string{"CLISER_WEBHOOK_SECRET"}, append(tc.env, "CLISER_PASSWORD="+opsPassword)...)
		out, code := testkit.Run(t, env, append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "off",
			"--data-dir", t.TempDir()}, tc.args...)...)
		assert.Equal(t, 2, code, "%s: %s", name, out)
		assert.Contains(t, out, tc.want, name)
		assert.NotContains(t, out, "c2hvcnQ", name+": the secret reached the output")
		assert.NotContains(t, out, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", name+": the secret reached the output")
	}
}

// TestBinaryWebhookWarnsOfARetentionUnderABatch: a log that keeps fewer
// events than a request carries loses a burst before it is sent, with the
// receiver up: said at start, and the loss counted.
func TestBinaryWebhookWarnsOfARetentionUnderABatch(t *testing.T) {
	rc := newHookReceiver(t, 0)
	p := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir(), "--webhook-url", rc.srv.URL, "--event-retention", "10", "--webhook-linger", "2s")...)
	assert.Contains(t, p.LogText(), "--event-retention keeps fewer events than one webhook request carries")
	for i := range 15 { // 15 connects, 15 disconnects: 30 events within the linger
		c := opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("burst-%d", i))
		_ = c.Conn.Close()
	}
	base := p.AdminURL(t)
	require.Eventually(t, func() bool { return metricOf(t, base, "cliser_webhook_events_dropped_total") > 0 },
		waitFor, tick, "the burst's oldest events fell out before they were sent, and are counted")

	// A linger of 0 (each event sent at once) is a setting, not a mistake.
	quiet := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir(), "--webhook-url", rc.srv.URL, "--event-retention", "100", "--webhook-linger", "0")...)
	assert.NotContains(t, quiet.LogText(), "--event-retention keeps fewer")
}

// TestBinaryWebhookClusterKillDeliverer: three serve processes on a real
// nats-server deliver the cluster's log once; the delivering one is killed
// (SIGKILL) while events keep coming. Another node takes over: every event
// of the log reaches the receiver, and an event that arrives twice came
// under the same webhook-id both times.
func TestBinaryWebhookClusterKillDeliverer(t *testing.T) {
	ns := testkit.NATS(t)

	rc := newHookReceiver(t, 0)
	env := append(webhookEnv(), "CLISER_CLUSTER="+ns.ClientURL())
	names := []string{"alpha", "beta", "gamma"}
	procs := map[string]*testkit.Served{}
	bases := map[string]string{}
	for _, name := range names {
		procs[name] = testkit.Serve(t, env, serveArgs(t.TempDir(), "--node-id", name, "--cluster-heartbeat", "2s",
			"--webhook-url", rc.srv.URL+"/hook", "--webhook-batch", "10", "--webhook-linger", "20ms")...)
		bases[name] = procs[name].AdminURL(t)
	}
	delivering := func() []string {
		var out []string
		for _, name := range names {
			if v, ok := testkit.Metric(bases[name], "cliser_webhook_delivering"); ok && v == 1 {
				out = append(out, name)
			}
		}
		return out
	}
	if !assert.Eventually(t, func() bool { return len(delivering()) == 1 }, 20*time.Second, 50*time.Millisecond, "one node delivers") {
		for _, name := range names {
			t.Logf("%s:\n%s", name, procs[name].LogText())
		}
		t.FailNow()
	}
	victim := delivering()[0]
	var survivors []string
	for _, name := range names {
		if name != victim {
			survivors = append(survivors, name)
		}
	}

	// A steady stream of events on the survivors, across the kill.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, name := range survivors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				c := opsConnect(t, procs[name].Addr, opsPassword, fmt.Sprintf("%s-%d", name, i))
				_ = c.Conn.Close()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	for i := range 5 { // and clients on the victim, whose loss is an event too
		opsConnect(t, procs[victim].Addr, opsPassword, fmt.Sprintf("%s-%d", victim, i))
	}
	// Only records that reached the bucket can be marked lost (a node's
	// last flush interval dies with it, docs/events.md): kill the victim
	// once a survivor's mirror lists all five connected.
	mirror := adminClient(t, bases[survivors[0]])
	require.Eventually(t, func() bool {
		page, err := mirror.List(context.Background(), "connected", "", 1000, "")
		if err != nil {
			return false
		}
		n := 0
		for _, rec := range page.Clients {
			if strings.HasPrefix(rec.CID, victim+"-") {
				n++
			}
		}
		return n == 5
	}, 30*time.Second, 20*time.Millisecond, "the victim's clients in the cluster's records")
	require.Eventually(t, func() bool { _, _, evs := rc.snapshot(); return len(evs) >= 60 }, 30*time.Second, 20*time.Millisecond,
		"delivery under way")
	require.NoError(t, procs[victim].Cmd.Process.Kill())
	procs[victim].WaitExit(t)
	require.Eventually(t, func() bool { d := delivering(); return len(d) == 1 && d[0] != victim }, 30*time.Second, 50*time.Millisecond,
		"a survivor takes delivery over")
	// Events keep coming after the takeover, and the new deliverer sends them.
	_, _, atTakeover := rc.snapshot()
	require.Eventually(t, func() bool { _, _, evs := rc.snapshot(); return len(evs) >= len(atTakeover)+20 }, 30*time.Second,
		20*time.Millisecond, "deliveries after the takeover")
	stop.Store(true)
	wg.Wait()

	// The log is complete once the victim's clients were marked lost.
	api := adminClient(t, bases[survivors[0]])
	require.Eventually(t, func() bool {
		n := 0
		for _, ev := range allEvents(t, api, admin.EventsFilter{}) {
			if ev.Reason != nil && *ev.Reason == "node lost" {
				n++
			}
		}
		return n >= 5
	}, 90*time.Second, 200*time.Millisecond, "the victim's clients marked lost (a loaded machine slows the heartbeats)")
	logged := allEvents(t, api, admin.EventsFilter{})
	newest := logged[len(logged)-1].Seq
	require.Eventually(t, func() bool {
		_, _, evs := rc.snapshot()
		return len(evs) > 0 && evs[len(evs)-1].Seq >= newest
	}, 60*time.Second, 50*time.Millisecond, "the receiver caught up with seq %d", newest)

	_, bad, evs := rc.snapshot()
	rc.mu.Lock()
	ids := append([]string(nil), rc.ids...)
	rc.mu.Unlock()
	require.Zero(t, bad, "every request verified")
	firstID := map[uint64]string{}
	next, dups := uint64(1), 0
	for i, ev := range evs {
		if id, seen := firstID[ev.Seq]; seen {
			dups++
			assert.Equal(t, id, ids[i], "event %d came again under another webhook-id", ev.Seq)
			continue
		}
		require.Equal(t, next, ev.Seq, "events arrive first in log order, none missing")
		firstID[ev.Seq] = ids[i]
		next++
	}
	require.EqualValues(t, newest+1, next, "every event of the log delivered")
	t.Logf("%d events, %d delivered twice, after killing %s", newest, dups, victim)
}

// EVENTS.md's "metrics at least" are on every /metrics, at 0 with no
// --webhook-url: a scrape found no cliser_webhook_* at all then, and a
// dashboard or alert on them read no data (found by the events audit).
func TestBinaryWebhookMetricsWithoutAWebhook(t *testing.T) {
	p := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir())...)
	_, body := testkit.HTTPGet(t, p.AdminURL(t)+"/metrics")
	for _, want := range []string{
		"\ncliser_events_total{type=\"client.connected\"} 0\n",
		"\ncliser_webhook_requests_total{result=\"ok\"} 0\n",
		"\ncliser_webhook_lag_events 0\n",
		"\ncliser_webhook_events_dropped_total 0\n",
		"\ncliser_webhook_cursor_lost_total 0\n", // admin audit: the one missing
	} {
		assert.Contains(t, body, want)
	}
}
