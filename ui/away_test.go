package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// serveAt runs `cliser serve` on fixed addresses and data dir, so that a
// second process after the first is killed is the same server restarted.
func serveAt(t *testing.T, listen, admin, dir string, args ...string) *testkit.Served {
	t.Helper()
	return serve(t, nil, append([]string{"--listen", listen, "--admin-listen", admin, "--data-dir", dir}, args...)...)
}

// kill9 ends a server as a crash does (SIGKILL: no goodbye to its
// clients, no last write) and waits until it is gone.
func kill9(t *testing.T, s *testkit.Served) {
	t.Helper()
	require.NoError(t, s.Cmd.Process.Kill())
	s.WaitExit(t)
}

// awayJS is true while the page says the server does not answer, with
// what it shows dimmed.
const awayJS = `(() => { const o = document.getElementById('offline');
	return !!o && !o.hidden && o.textContent.includes('does not answer') && document.body.classList.contains('offline')
		&& getComputedStyle(document.querySelector('main > .cards, main > .scroll')).opacity < 0.9 })()`

// backJS is true once the page no longer says so.
const backJS = `document.getElementById('offline')?.hidden === true && !document.body.classList.contains('offline')`

// A server killed while the page is open: the overview says it does not
// answer, dims the figures it showed instead of leaving them as if live,
// and catches up by itself when the server is back; so does the clients
// table. Before, the cards kept their last figures in full, with "Failed
// to fetch" in small grey under the chart.
func TestDashboardServerAway(t *testing.T) {
	needChromium(t)
	listen, admin, dir := testkit.FreeAddr(t), testkit.FreeAddr(t), t.TempDir()
	s := serveAt(t, listen, admin, dir)
	register(t, s, "away-1")
	register(t, s, "away-2")

	p := newBrowser(t)
	base := "http://" + admin + "/ui/"
	p.open(base + "#/overview")
	p.waitJS(`document.getElementById('stat-connected').textContent === '2' && document.getElementById('live').textContent === 'live'`, 10*time.Second)
	require.Empty(t, p.Problems())

	kill9(t, s)
	took := p.waitJS(awayJS, 10*time.Second)
	t.Logf("the overview says the server is away %s after it was killed", took.Round(time.Millisecond))
	p.screenshot("overview-away")

	// Back, with one client of the two: the page follows without a reload.
	s = serveAt(t, listen, admin, dir)
	register(t, s, "away-3")
	waitConnected(t, s, "", 1, 10*time.Second)
	took = p.waitJS(backJS+` && document.getElementById('stat-connected').textContent === '1'
		&& document.getElementById('stat-records').textContent === '3'`, 10*time.Second)
	t.Logf("the overview live again %s after the server was back", took.Round(time.Millisecond))

	// The clients table likewise: away, then its rows as the API has them.
	p.eval(`location.hash = '#/clients'`, nil)
	p.waitJS(cellJS("away-3", 2)+` === 'connected' && `+cellJS("away-2", 2)+` === 'disconnected'`, 10*time.Second)
	kill9(t, s)
	p.waitJS(awayJS, 10*time.Second)
	s = serveAt(t, listen, admin, dir)
	waitConnected(t, s, "", 0, 10*time.Second)
	register(t, s, "away-1")
	p.waitJS(backJS+` && `+cellJS("away-1", 2)+` === 'connected' && `+cellJS("away-3", 2)+` === 'disconnected'`, 10*time.Second)
}

// A stream that drops before it brought a single event resumes from where
// it started, not from the newest event once the server is back: the page
// opened on a quiet server, the server restarted and a client registered
// before the page's stream was back; that client's connect (and the
// restart's disconnects) never reached the page, whose Events view and
// rows stayed without them.
func TestDashboardStreamResumesAcrossARestart(t *testing.T) {
	needChromium(t)
	listen, admin, dir := testkit.FreeAddr(t), testkit.FreeAddr(t), t.TempDir()
	s := serveAt(t, listen, admin, dir)

	p := newBrowser(t)
	p.open("http://" + admin + "/ui/#/events")
	p.waitJS(`document.getElementById('live').textContent === 'live'`, 10*time.Second)
	require.Empty(t, p.Problems())

	// The page's stream can not come back until told: the restart and
	// the registration happen while it is away, whatever its backoff.
	block := func(urls ...string) {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Run(ctx, network.SetBlockedURLs(urls)))
	}
	block("*/v1/events/stream*")
	kill9(t, s)
	p.waitJS(`document.getElementById('live').textContent !== 'live'`, 10*time.Second)
	s = serveAt(t, listen, admin, dir)
	register(t, s, "gap-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	block()
	took := p.waitJS(`document.getElementById('live').textContent === 'live'
		&& [...document.querySelectorAll('#events-body tr')].some((r) => r.children[2].textContent === 'client.connected' && r.children[3].textContent === 'gap-1')`, 20*time.Second)
	t.Logf("the event of the outage shown %s after the stream could come back", took.Round(time.Millisecond))
	_ = p.Problems() // the blocked and refused stream requests
}

// waitKnown polls s's GET /v1/clients/{cid} until its answer holds want (a
// 404 meanwhile: another node's client not yet in this one's view).
func waitKnown(t *testing.T, s *testkit.Served, cid, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := apiDo(t, s, "", http.MethodGet, "/v1/clients/"+cid, "")
		if status == http.StatusOK && strings.Contains(strings.ReplaceAll(body, " ", ""), want) {
			return
		}
		require.False(t, time.Now().After(deadline), "%s: %d %s, want %s", cid, status, body, want)
		time.Sleep(20 * time.Millisecond)
	}
}

// A server started again on another data dir (its log lost, or another
// restored) refuses the page's resume, 410: the Events view drops the old
// log's events and shows the new log's alone. It kept up to 500 of the old
// ones under the new, out of seq order, and a seq could name two events
// (dashboard audit).
func TestDashboardEventsAfterALogSwapShowTheNewLogAlone(t *testing.T) {
	needChromium(t)
	listen, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
	s := serveAt(t, listen, admin, t.TempDir())
	for _, id := range []string{"old-1", "old-2", "old-3", "old-4", "old-5", "old-6"} {
		register(t, s, id)
	}
	p := newBrowser(t)
	p.open("http://" + admin + "/ui/#/events")
	p.waitJS(`document.getElementById('live').textContent === 'live'
		&& [...document.querySelectorAll('#events-body tr')].some((r) => r.children[3].textContent === 'old-6')`, 10*time.Second)

	kill9(t, s)
	p.waitJS(`document.getElementById('live').textContent !== 'live'`, 10*time.Second)
	s = serveAt(t, listen, admin, t.TempDir())
	register(t, s, "new-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	took := p.waitJS(`document.getElementById('live').textContent === 'live'
		&& [...document.querySelectorAll('#events-body tr')].some((r) => r.children[3].textContent === 'new-1')
		&& ![...document.querySelectorAll('#events-body tr')].some((r) => r.children[3].textContent.startsWith('old-'))`, 20*time.Second)
	t.Logf("the new log's events alone %s after the restart", took.Round(time.Millisecond))
	_ = p.Problems() // the refused resume (410)
}
