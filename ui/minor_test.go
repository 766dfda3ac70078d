package ui_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// An IPv6 client's address shows in brackets, so that its port does not
// read as one more group of it: in the clients table, on its page and in
// the events feed. The client comes through a PROXY header, as it would
// through a TLS terminator.
func TestDashboardShowsIPv6AddressesInBrackets(t *testing.T) {
	needChromium(t)
	s := serve(t, nil, "--proxy-protocol", "--proxy-trusted", "127.0.0.1")
	c := testkit.Dial(t, s.Addr)
	c.Send(testkit.ProxyHeader(t, 1, "2001:db8::7", 40000))
	c.Register(password, "six-1")
	v4 := testkit.Dial(t, s.Addr)
	v4.Send(testkit.ProxyHeader(t, 2, "203.0.113.9", 40001))
	v4.Register(password, "four-1")
	p := newBrowser(t)
	base := "http://" + s.AdminAddr + "/ui/"
	p.open(base + "#/clients")
	p.waitJS(cellJS("six-1", 3)+` === '[2001:db8::7]:40000' && `+cellJS("four-1", 3)+` === '203.0.113.9:40001'`, 10*time.Second)
	p.open(base + "#/client/six-1")
	p.waitJS(recordJS("address")+` === '[2001:db8::7]:40000'`, 10*time.Second)
	p.open(base + "#/events")
	p.waitJS(`[...document.querySelectorAll('#events-body td')].some((td) => td.textContent.includes('[2001:db8::7]:40000'))`, 10*time.Second)
	assert.Empty(t, p.Problems())
}

// Paused, "N new" counts the events the filters would show, not every
// event that arrived.
func TestDashboardEventsPauseCountsWhatTheFiltersShow(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	p.waitJS(live, 10*time.Second)
	p.run(chromedp.SetValue(`#events-type`, "client.disconnected", chromedp.ByQuery))
	p.eval(`document.getElementById('events-type').dispatchEvent(new Event('change'))`, nil)
	p.click(`#events-pause`)
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 0 new'`, 5*time.Second)
	streamed := p.draws("streamed")
	c := register(t, s, "pause-count") // client.connected: filtered out
	waitConnected(t, s, "", 1, 10*time.Second)
	_ = c.Conn.Close()              // client.disconnected: counted
	register(t, s, "pause-count-2") // client.connected: filtered out
	p.waitJS(fmt.Sprintf(`window.cliserDraws.streamed >= %d`, streamed+3), 10*time.Second)
	var info string
	p.eval(`document.getElementById('events-info').textContent`, &info)
	assert.Equal(t, "paused · 1 new", info, "three events came, one of the filter's type")
	assert.Empty(t, p.Problems())
}

// A client that connects while the clients page's read is out keeps its
// row when the answer, older than its event, comes: the events heard
// meanwhile are replayed onto the answer. The browser holds the answer
// (DevTools' Fetch domain) until the stream brought the event.
func TestDashboardClientsKeepWhatTheStreamBroughtDuringARead(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "race-a")
	p := newBrowser(t)
	held := p.hold(&fetch.RequestPattern{URLPattern: "*/v1/clients?*", RequestStage: fetch.RequestStageResponse})
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	id := testkit.Recv(t, held, 10*time.Second, "the clients page never read its first page")
	streamed := p.draws("streamed")
	register(t, s, "race-b")
	p.waitJS(fmt.Sprintf(`window.cliserDraws.streamed > %d`, streamed), 10*time.Second)
	p.run(fetch.ContinueRequest(id), fetch.Disable())
	p.waitJS(`document.querySelector('tr[data-cid="race-a"]') && document.querySelector('tr[data-cid="race-b"] .badge.on')`, 10*time.Second)
	assert.Empty(t, p.Problems())
}

// The clients page reads its first page once the stream knows where it
// starts: a client that connects between the two is in the one or the
// other. The browser holds the stream's first read of the newest seq
// while the client connects.
func TestDashboardClientsFirstPageAfterTheStreamsStart(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "gap-a")
	p := newBrowser(t)
	held := p.hold(&fetch.RequestPattern{URLPattern: "*/v1/events?limit=1"})
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	id := testkit.Recv(t, held, 10*time.Second, "the stream never read the newest seq")
	register(t, s, "gap-b")
	waitConnected(t, s, "", 2, 10*time.Second)
	p.run(fetch.ContinueRequest(id), fetch.Disable())
	p.waitJS(`document.querySelector('tr[data-cid="gap-a"]') && document.querySelector('tr[data-cid="gap-b"] .badge.on')`, 10*time.Second)
	assert.Empty(t, p.Problems())
}

// hold has the browser pause the requests that match pattern (DevTools'
// Fetch domain) and hands on each one's id, for fetch.ContinueRequest.
func (p *page) hold(pattern *fetch.RequestPattern) <-chan fetch.RequestID {
	p.t.Helper()
	held := make(chan fetch.RequestID, 4)
	chromedp.ListenTarget(p.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			held <- e.RequestID
		}
	})
	p.run(fetch.Enable().WithPatterns([]*fetch.RequestPattern{pattern}))
	return held
}

// A stream the server refuses says so: "reconnecting…" with the status
// beside it and the server's reason on hover, not a bare "reconnecting…"
// that leaves the operator guessing. Here every stream slot the server
// keeps (half of --admin-max-connections) is held by another reader; once
// they let go the page goes live by itself.
func TestDashboardSaysWhyItsStreamIsRefused(t *testing.T) {
	needChromium(t)
	s := serve(t, nil, "--admin-max-connections", "8")
	var held []*http.Response
	for range 4 {
		req, err := http.NewRequest(http.MethodGet, s.AdminURL(t)+"/v1/events/stream", nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		held = append(held, res)
	}
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/")
	p.waitJS(`document.getElementById('live').textContent === 'reconnecting… (refused: 503)'`, 10*time.Second)
	var title string
	p.eval(`document.getElementById('live').title`, &title)
	assert.Contains(t, title, "event streams and long-polls are open, the most this server holds")
	for _, res := range held {
		_ = res.Body.Close()
	}
	p.waitJS(live, 20*time.Second)
	p.eval(`document.getElementById('live').title`, &title)
	assert.Equal(t, "live event stream", title)
	for _, pr := range p.Problems() {
		assert.Regexp(t, `503.* http://`+s.AdminAddr+`/v1/events/stream$`, pr, "only the refused streams failed")
	}
	// A server that does not answer at all refuses nothing: the badge
	// says reconnecting, and the line above the page why (before, it read
	// "(refused: 0)").
	require.NoError(t, s.Cmd.Process.Kill())
	s.WaitExit(t)
	p.waitJS(awayJS+` && document.getElementById('live').textContent === 'reconnecting…'`, 10*time.Second)
	p.eval(`document.getElementById('live').title`, &title)
	assert.Equal(t, "the event stream is down: the page keeps trying to open it again", title, "it said \"live event stream\"")
}
