package ui_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// staleAnswer says whether n's GET path is marked X-Cliser-Stale.
func staleAnswer(t *testing.T, n *testkit.Served, path string) bool {
	t.Helper()
	res, err := http.Get(n.AdminURL(t) + path)
	require.NoError(t, err)
	_ = res.Body.Close()
	return res.Header.Get("X-Cliser-Stale") == "true"
}

// waitStale polls n's GET path until its stale mark is want, up to 20 s.
func waitStale(t *testing.T, n *testkit.Served, path string, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for staleAnswer(t, n, path) != want {
		require.False(t, time.Now().After(deadline), "%s never answered with stale=%v", path, want)
		time.Sleep(50 * time.Millisecond)
	}
}

// While its node can not reach NATS, the clients table and a client's
// page say that what they show is stale (another node's client as the
// node last saw it: no address, no times, which show as "—", not as the
// year 1), and once NATS is back they show the fresh records without a
// reload. Before, nothing said stale, the times showed as
// "1-01-01 00:00:00", and the rows stayed so until a reload.
func TestDashboardStaleWhileNATSIsAway(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	ns := testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	args := func(name string) []string {
		return []string{"--cluster", ns.ClientURL(), "--node-id", name, "--cluster-heartbeat", "2s"}
	}
	n1 := serve(t, nil, args("n1")...)
	n2 := serve(t, nil, args("n2")...)
	register(t, n2, "stale-a")
	register(t, n1, "stale-b")
	deadline := time.Now().Add(10 * time.Second)
	for { // n1 knows n2's client
		status, _ := apiDo(t, n1, "", http.MethodGet, "/v1/clients/stale-a", "")
		if status == http.StatusOK {
			break
		}
		require.False(t, time.Now().After(deadline), "n1 never knew stale-a")
		time.Sleep(20 * time.Millisecond)
	}

	p := newBrowser(t)
	base := "http://" + n1.AdminAddr + "/ui/"
	p.open(base + "#/clients?prefix=stale-")
	p.waitJS(cellJS("stale-a", 3)+`?.startsWith('127.0.0.1:') && `+cellJS("stale-b", 3)+`?.startsWith('127.0.0.1:')`, 10*time.Second)
	require.Empty(t, p.Problems())

	ns.Shutdown()
	ns.WaitForShutdown()
	waitStale(t, n1, "/v1/clients?prefix=stale-", true)
	// The open table finds out by itself: nothing on the stream says so
	// (before, it stayed as it was, green badge and all, until a reload).
	took := p.waitJS(`!document.getElementById('clients-stale').hidden`, 10*time.Second)
	t.Logf("the open clients table said stale %s after the API did", took.Round(time.Millisecond))
	// n2's client as n1 last saw it: its status and node, nothing else.
	p.waitJS(cellJS("stale-a", 2)+` === 'connected' && `+cellJS("stale-a", 4)+` === 'n2'`, 5*time.Second)
	var cells []string
	p.eval(`[...document.querySelector('tr[data-cid="stale-a"]').children].map((c) => c.textContent)`, &cells)
	assert.Equal(t, "—", cells[1], "sid: unknown, not 0")
	assert.Equal(t, "—", cells[3], "address")
	assert.Equal(t, "—", cells[5], "connected since: unknown, not the year 1")
	p.screenshot("clients-stale")

	p.eval(`location.hash = '#/client/stale-a'`, nil)
	p.waitJS(`!document.getElementById('client-stale').hidden && `+recordJS("connected at")+` === '—' && `+recordJS("sid")+` === '—' && `+recordJS("node")+` === 'n2'`, 5*time.Second)
	// Its sessions can not be read now (503, which the browser logs once),
	// nor can the live stream be opened again should it drop, unless the
	// node still follows the log (a reader left under 30 s ago), nor the
	// log's newest event the stream starts after.
	const outage503 = `503.*/v1/(clients/stale-a/history|events/stream|events\?limit=1)`
	for _, pr := range p.Problems() {
		assert.Regexp(t, outage503, pr)
	}

	// NATS comes back: the page turns fresh by itself.
	testkit.NATSAt(t, dir, port)
	took = p.waitJS(`document.getElementById('client-stale').hidden && `+recordJS("address")+`.startsWith('127.0.0.1:')
		&& document.querySelector('#client-history tr')?.children[5].textContent === 'n2'`, 20*time.Second)
	t.Logf("the client's page fresh %s after NATS came back", took.Round(time.Millisecond))
	for _, pr := range p.Problems() { // the event log may answer a moment after the records
		assert.Regexp(t, outage503, pr)
	}
	p.eval(`history.back()`, nil)
	p.waitJS(`document.getElementById('clients-stale')?.hidden === true && `+cellJS("stale-a", 3)+`?.startsWith('127.0.0.1:')`, 10*time.Second)
	assert.Empty(t, p.Problems())
}

// The Events view opened while its node can not reach NATS says the log
// can not be read, and shows the log's last events once NATS is back,
// without a reload. Before, it said "0 events since this page opened"
// and never read the log again: the events before the page opened
// stayed missing.
func TestDashboardEventsFillAfterNATSOutage(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	ns := testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	n1 := serve(t, nil, "--cluster", ns.ClientURL(), "--node-id", "n1", "--cluster-heartbeat", "2s")
	register(t, n1, "before-outage")
	deadline := time.Now().Add(10 * time.Second)
	for { // its client.connected is in the log
		var ev struct {
			Events []struct{} `json:"events"`
		}
		apiGet(t, n1, "", "/v1/events?cid=before-outage", &ev)
		if len(ev.Events) == 1 {
			break
		}
		require.False(t, time.Now().After(deadline), "the event never in the log")
		time.Sleep(20 * time.Millisecond)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	waitStale(t, n1, "/v1/clients", true)

	p := newBrowser(t)
	p.open("http://" + n1.AdminAddr + "/ui/#/events")
	p.waitJS(`document.getElementById('events-info').textContent.includes('can not be read')`, 10*time.Second)
	for _, pr := range p.Problems() { // the log's reads answer 503 while NATS is away
		assert.Regexp(t, `503.*/v1/events`, pr)
	}

	testkit.NATSAt(t, dir, port)
	took := p.waitJS(`[...document.querySelectorAll('#events-body tr')].some((r) => r.children[3].textContent === 'before-outage' && r.children[4].textContent === 'n1')
		&& document.getElementById('events-info').textContent.endsWith('then live')`, 20*time.Second)
	t.Logf("the log's events shown %s after NATS came back", took.Round(time.Millisecond))
	for _, pr := range p.Problems() {
		assert.Regexp(t, `503.*/v1/events`, pr)
	}
}
