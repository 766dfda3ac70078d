package ui_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The dashboard in a real browser against a real server and real agents:
// one server and one chromium for the whole walk, to keep the suite short.
func TestDashboard(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	agent(t, s, "agent-1")
	agent(t, s, "agent-2")
	waitConnected(t, s, "", 2, 10*time.Second)
	base := "http://" + s.AdminAddr

	p := newBrowser(t)
	t.Run("LoadsCleanAndCountsMatch", func(t *testing.T) {
		p.t = t
		p.open(base + "/")
		p.waitJS(`location.pathname === '/ui/' && document.getElementById('live').textContent === 'live'`, 10*time.Second)
		p.waitJS(`document.getElementById('stat-connected').textContent === '2'`, 5*time.Second)
		var st stats
		apiGet(t, s, "", "/v1/stats", &st)
		var shown string
		p.eval(`document.getElementById('stat-connected').textContent`, &shown)
		assert.Equal(t, fmt.Sprint(st.Connected), shown, "the page's connected count is the API's")
		// A single node's chart has one line and no legend: shown, it read
		// " (this node)", a name left out (.legend's display beat hidden).
		var legend string
		p.eval(`getComputedStyle(document.getElementById('chart-legend')).display`, &legend)
		assert.Equal(t, "none", legend, "no legend on a single node")
		// The browser asks for the favicon on its own time, after the
		// page's load: read once, the check failed on a busy machine.
		p.waitJS(`performance.getEntriesByType('resource').some(e => e.name.endsWith('/ui/favicon.svg'))`, 5*time.Second)
		assert.Empty(t, p.Problems(), "console errors or failed requests on load")
		p.screenshot("overview")
	})

	t.Run("NewAgentAppearsLive", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/clients")
		p.waitJS(`document.querySelector('tr[data-cid="agent-1"]')`, 5*time.Second)
		start := time.Now()
		agent(t, s, "agent-late")
		p.waitJS(`document.querySelector('tr[data-cid="agent-late"] .badge.on')`, 5*time.Second)
		took := time.Since(start)
		var nodes []string
		p.eval(`['agent-1', 'agent-late'].map((c) => document.querySelector('tr[data-cid="' + c + '"]').cells[4].textContent)`, &nodes)
		assert.Equal(t, []string{"—", "—"}, nodes, "a row the stream brings names its node as a listed one does: a single node's records name none")
		t.Logf("agent started after load shown in %s (process start and handshake included)", took)
		assert.Less(t, took, 2*time.Second, "a new agent shows without reload within 2 s")
		assert.Empty(t, p.Problems())
		p.screenshot("clients")
	})

	t.Run("KickThroughConfirmation", func(t *testing.T) {
		p.t = t
		c := testkit.Dial(t, s.Addr)
		c.Register(password, "kick-me")
		p.waitJS(`document.querySelector('tr[data-cid="kick-me"] .badge.on')`, 5*time.Second)
		p.click(`tr[data-cid="kick-me"] button`)
		p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
		p.screenshot("confirm")
		p.run(chromedp.Click(`#confirm-ok`, chromedp.ByQuery))
		c.ExpectClosed("190 kicked")
		p.waitJS(`(() => { const r = document.querySelector('tr[data-cid="kick-me"]');
			return r && r.querySelector('.badge.off') && r.children[7].textContent === 'kicked' })()`, 5*time.Second)
		// The row drew again without its Kick button, which had the
		// focus back from the dialog: the focus stays in the row, on its
		// link, rather than fall to <body> (a keyboard user lost their place).
		var focused string
		p.eval(`document.activeElement.closest('tr')?.dataset.cid + ' ' + document.activeElement.tagName`, &focused)
		assert.Equal(t, "kick-me A", focused)
		assert.Empty(t, p.Problems())
	})

	t.Run("ClientPage", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/client/kick-me")
		p.waitJS(`document.querySelectorAll('#client-history tr td').length > 1 && document.getElementById('client-record').textContent.includes('kicked')`, 5*time.Second)
		p.waitJS(`document.getElementById('client-credential').textContent.includes('No credential')`, 5*time.Second)
		// Disconnected and without a credential: nothing to kick, shut
		// down or delete.
		var disabled []bool
		p.eval(`['act-kick', 'act-shutdown', 'act-delcred', 'act-ban'].map((id) => document.getElementById(id).disabled)`, &disabled)
		assert.Equal(t, []bool{true, true, true, false}, disabled, "kick, shut down, delete credential, ban")
		// Asking whether it has a credential is no failed request (it
		// used to be GET /v1/credentials/kick-me's 404).
		assert.Empty(t, p.Problems())
		p.screenshot("client")
		// Its neighbours' credentials, on either side in client-ID order,
		// are not its own; then its own.
		for _, cid := range []string{"kick-mdzz", "kick-me-2", "kick-me"} {
			status, body := apiDo(t, s, "", "POST", "/v1/credentials/"+cid, "")
			require.Equal(t, http.StatusCreated, status, body)
			if cid != "kick-me" {
				p.reload()
				p.waitJS(`document.getElementById('client-credential')?.textContent.includes('No credential')`, 5*time.Second)
			}
		}
		p.waitJS(`document.getElementById('client-credential').textContent.includes('Own credential since') && !document.getElementById('act-delcred').disabled`, 5*time.Second)
		assert.Empty(t, p.Problems())
	})

	t.Run("PrefixSearchAmong2000", func(t *testing.T) {
		p.t = t
		for i := range 2000 {
			c := testkit.Dial(t, s.Addr)
			c.Register(password, fmt.Sprintf("fleet-%04d", i))
			_ = c.Conn.Close() // the record stays, disconnected
		}
		var st stats
		apiGet(t, s, "", "/v1/stats", &st)
		require.GreaterOrEqual(t, st.Records, 2000)
		p.open(base + "/ui/#/clients")
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100`, 5*time.Second)
		p.run(chromedp.SendKeys(`#filter-prefix`, "fleet-1234", chromedp.ByQuery))
		took := p.waitJS(`(() => { const rows = document.querySelectorAll('#clients-body tr');
			return rows.length === 1 && rows[0].dataset.cid === 'fleet-1234' })()`, 5*time.Second)
		t.Logf("prefix search among %d records answered in %s", st.Records, took)
		assert.Empty(t, p.Problems())
	})

	t.Run("EventsBansCredentials", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/events")
		p.waitJS(`document.querySelectorAll('#events-body tr').length > 0`, 5*time.Second)
		p.screenshot("events")

		p.open(base + "/ui/#/bans")
		p.waitJS(`document.getElementById('bans-body').textContent.length > 0`, 5*time.Second)
		p.run(chromedp.SetValue(`#ban-value`, "10.9.0.0/16", chromedp.ByQuery),
			chromedp.SetValue(`#ban-kind`, "net", chromedp.ByQuery),
			chromedp.SetValue(`#ban-reason`, `<img src=x onerror=alert(1)> lab`, chromedp.ByQuery),
			chromedp.Click(`#ban-form button[type=submit]`, chromedp.ByQuery))
		p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
		p.run(chromedp.Click(`#confirm-ok`, chromedp.ByQuery))
		p.waitJS(`document.getElementById('bans-body').textContent.includes('<img src=x onerror=alert(1)> lab')`, 5*time.Second)
		var imgs int
		p.eval(`document.querySelectorAll('main img').length`, &imgs)
		assert.Zero(t, imgs, "a ban reason is shown as text, never as HTML")
		p.screenshot("bans")

		p.open(base + "/ui/#/credentials")
		p.waitJS(`document.getElementById('creds-body').textContent.length > 0`, 5*time.Second)
		p.run(chromedp.SetValue(`#cred-cid`, "pos-0042", chromedp.ByQuery),
			chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
		p.waitJS(`document.getElementById('secret-value')?.textContent.length > 10 && document.getElementById('creds-body').textContent.includes('pos-0042')`, 5*time.Second)
		p.screenshot("credentials")
		assert.Empty(t, p.Problems())
	})

	t.Run("CrossOriginPageCannotUseTheAPI", func(t *testing.T) {
		p.t = t
		c := testkit.Dial(t, s.Addr)
		c.Register(password, "victim")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("<!doctype html><title>elsewhere</title>"))
		})}
		go func() { _ = evil.Serve(ln) }()
		t.Cleanup(func() { _ = evil.Close() })
		p.open("http://" + ln.Addr().String() + "/")
		var out string
		p.run(chromedp.Evaluate(fmt.Sprintf(`(async () => {
			const api = 'http://%s';
			let read = 'read-ok';
			try { await (await fetch(api + '/v1/clients')).json(); } catch (e) { read = 'read-blocked'; }
			await fetch(api + '/v1/clients/victim/kick', {method: 'POST', mode: 'no-cors'}).catch(() => {});
			await fetch(api + '/v1/shutdown', {method: 'POST', mode: 'no-cors', body: 'reason=x'}).catch(() => {});
			return read })()`, s.AdminAddr), &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}))
		assert.Equal(t, "read-blocked", out, "another origin cannot read the API's answers")
		var rec struct {
			CStatus bool `json:"cstatus"`
		}
		apiGet(t, s, "", "/v1/clients/victim", &rec)
		assert.True(t, rec.CStatus, "another origin's POST kick was refused by the guard")
		c.Send("100 still-here\n") // the connection is still open
		p.Problems()
	})
}

// Every file of the dashboard, and its errors, carry the CSP and framing
// rules; GET / redirects to it; --ui=false turns it off.
func TestDashboardHeaders(t *testing.T) {
	s := serve(t, nil)
	base := "http://" + s.AdminAddr
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(base + "/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.Equal(t, "/ui/", res.Header.Get("Location"))
	// Every file of ui/static, so that a module added later is checked too.
	paths := []string{"/ui/", "/favicon.ico", "/ui/nope.js"}
	static, err := os.ReadDir("static")
	require.NoError(t, err)
	for _, f := range static {
		paths = append(paths, "/ui/"+f.Name())
	}
	for _, path := range paths {
		res, err := http.Get(base + path)
		require.NoError(t, err)
		res.Body.Close()
		if path == "/ui/nope.js" {
			assert.Equal(t, http.StatusNotFound, res.StatusCode)
		} else {
			assert.Equal(t, http.StatusOK, res.StatusCode, path)
		}
		// A module served as anything but JavaScript is refused by the
		// browser, and the page with it.
		if strings.HasSuffix(path, ".js") && res.StatusCode == http.StatusOK {
			assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript"), "%s: %s", path, res.Header.Get("Content-Type"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self'", path)
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.Contains(t, csp, "frame-ancestors 'none'", path)
		assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), path)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
	}
	res, err = http.Post(base+"/ui/", "application/json", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)

	off := serve(t, nil, "--ui=false")
	res, err = http.Get("http://" + off.AdminAddr + "/ui/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "--ui=false: no dashboard")
}

// index.html preloads every module, so that the browser fetches them all
// at once rather than each when an import names it (the first rows' time,
// TestDashboard20000Clients); app.js is its script.
func TestDashboardPreloadsEveryModule(t *testing.T) {
	index, err := os.ReadFile("static/index.html")
	require.NoError(t, err)
	static, err := os.ReadDir("static")
	require.NoError(t, err)
	for _, f := range static {
		if name := f.Name(); strings.HasSuffix(name, ".js") && name != "app.js" {
			assert.Contains(t, string(index), `<link rel="modulepreload" href="`+name+`">`, name)
		}
	}
	assert.Contains(t, string(index), `<script type="module" src="app.js"></script>`)
}

// With CLISER_ADMIN_TOKEN set the page asks for the token, refuses a
// wrong one, then works with the right one, the stream included, and
// never puts it in the URL.
func TestDashboardToken(t *testing.T) {
	needChromium(t)
	const token = "ui-admin-token-5f2c"
	s := serve(t, []string{"CLISER_ADMIN_TOKEN=" + token})
	agent(t, s, "tok-agent")
	waitConnected(t, s, token, 1, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/")
	p.waitJS(`document.getElementById('login').open`, 10*time.Second)
	// The page learnt that it needs the token without a failed request:
	// no 401 in the console before the operator typed anything.
	assert.Empty(t, p.Problems(), "no console error or failed request before the token prompt")
	p.screenshot("token")
	p.run(chromedp.SendKeys(`#login-token`, "wrong-token", chromedp.ByQuery), chromedp.Click(`#login-submit`, chromedp.ByQuery))
	p.waitJS(`document.getElementById('login-error').textContent.includes('wrong bearer token')`, 5*time.Second)
	var open bool
	p.eval(`document.getElementById('login').open`, &open)
	assert.True(t, open, "a wrong token is refused and asked again")
	p.eval(`document.getElementById('login-token').value = ''`, nil)
	p.run(chromedp.SendKeys(`#login-token`, token, chromedp.ByQuery), chromedp.Click(`#login-submit`, chromedp.ByQuery))
	p.waitJS(`!document.getElementById('login').open && document.getElementById('stat-connected').textContent === '1'`, 5*time.Second)
	p.waitJS(`document.getElementById('live').textContent === 'live'`, 5*time.Second)
	// The stream carries the token too: a new agent shows up live.
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.querySelector('tr[data-cid="tok-agent"]')`, 5*time.Second)
	agent(t, s, "tok-late")
	p.waitJS(`document.querySelector('tr[data-cid="tok-late"] .badge.on')`, 5*time.Second)
	var href, html string
	p.eval(`location.href`, &href)
	p.eval(`document.documentElement.outerHTML`, &html)
	assert.NotContains(t, href, token)
	assert.NotContains(t, html, token)
	assert.NotContains(t, s.LogText(), token, "the token never reaches the log")
	// The only problems are the wrong token's 401 (the response, and the
	// console's line for it).
	for _, pr := range p.Problems() {
		assert.Contains(t, pr, "401", pr)
	}
}

// A client's page makes no failed request when the client has no record
// (a device given its credential before it first connects, reached from
// the credentials list), nor on a server without an event log. It read
// GET /v1/clients/{cid} and its history, and the browser logged both 404s
// as errors.
func TestDashboardClientWithoutRecord(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/credentials")
	p.run(chromedp.SetValue(`#cred-cid`, "prov-0001", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
	p.waitJS(`document.getElementById('secret-value') && document.querySelector('#creds-body tr[data-cid="prov-0001"] a')`, 5*time.Second)
	var secret string
	p.eval(`document.getElementById('secret-value').textContent`, &secret)
	p.click(`#creds-body tr[data-cid="prov-0001"] a`)
	p.waitJS(`location.hash === '#/client/prov-0001' && document.getElementById('client-record').textContent
		&& document.getElementById('client-history').textContent
		&& document.getElementById('client-credential').textContent.includes('Own credential since')`, 5*time.Second)
	assert.Empty(t, p.Problems(), "no failed request for a client without a record")
	var shown []string
	p.eval(`['client-record', 'client-history'].map((id) => document.getElementById(id).textContent)`, &shown)
	assert.Equal(t, []string{"No record: prov-0001 has not registered, or its record is past --retention.", "no sessions in the event log"}, shown)
	var disabled []bool
	p.eval(`['act-kick', 'act-shutdown', 'act-delcred', 'act-ban'].map((id) => document.getElementById(id).disabled)`, &disabled)
	assert.Equal(t, []bool{true, true, false, false}, disabled, "kick, shut down, delete credential, ban")

	// Once it registers, the page shows it.
	testkit.Dial(t, s.Addr).Register(secret, "prov-0001")
	p.reload()
	p.waitJS(`document.getElementById('client-record').textContent.includes('connected') && !document.getElementById('act-kick').disabled
		&& document.querySelectorAll('#client-history tr td').length > 1`, 5*time.Second)
	assert.Empty(t, p.Problems())

	// No event log: no history to ask for.
	off := serve(t, nil, "--event-retention", "0")
	register(t, off, "nolog-1")
	p.open("http://" + off.AdminAddr + "/ui/#/client/nolog-1")
	p.waitJS(`document.getElementById('client-record').textContent.includes('connected')
		&& document.getElementById('client-history').textContent`, 5*time.Second)
	assert.Empty(t, p.Problems(), "no failed request on a server without an event log")
	var hist string
	p.eval(`document.getElementById('client-history').textContent`, &hist)
	assert.Equal(t, "this server keeps no event log", hist)
	p.waitJS(`document.getElementById('live').textContent === 'no event log'`, 5*time.Second)
	var title string
	p.eval(`document.getElementById('live').title`, &title)
	assert.Equal(t, "this server keeps no event log (--event-retention 0), so there is no live stream", title, "it said \"live event stream\"")
}

// A client link that does not decode (#/client/%, typed or cut short) or
// names no possible client says so on the page, with no request for it
// and no error in the console; the page and its stream go on. Before, the
// decode threw: the first load stopped before the stream started.
func TestDashboardMalformedClientLink(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/client/%")
	p.waitJS(`document.getElementById('client-invalid')?.textContent === '"%" is not a client ID: 1 to 64 of A-Z a-z 0-9 . _ : @ -'
		&& document.getElementById('live').textContent === 'live'`, 10*time.Second)
	p.open("http://" + s.AdminAddr + "/ui/#/client/a%20b")
	p.waitJS(`document.getElementById('client-invalid')?.textContent.startsWith('"a b" is not a client ID')`, 5*time.Second)
	assert.Empty(t, p.Problems(), "no failed request, no console error")
	// The stream is live: a client that registers shows on the clients view.
	p.open("http://" + s.AdminAddr + "/ui/#/client/%")
	p.waitJS(`document.getElementById('live').textContent === 'live'`, 10*time.Second)
	p.run(chromedp.Evaluate(`location.hash = '#/clients'`, nil))
	p.waitJS(`document.getElementById('clients-body') !== null`, 5*time.Second)
	register(t, s, "after-bad-link")
	p.waitJS(`document.querySelector('tr[data-cid="after-bad-link"] .badge.on')`, 5*time.Second)
	assert.Empty(t, p.Problems())
}

// A client ID may be "." or "..", which a browser takes in a URL's path
// for the current and the parent directory, encoded or not: the page's
// Shut down of client ".." went to POST /v1/shutdown and shut every
// client down. The page does not name such a client in a path: it shows
// its record and says why its actions are off.
func TestDashboardDotClientIDs(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for _, cid := range []string{"bystander", "..", "."} {
		register(t, s, cid)
	}
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/client/..")
	p.waitJS(`document.getElementById('client-record').textContent.includes('connected') && document.getElementById('client-credential').textContent
		&& document.getElementById('client-history').textContent`, 5*time.Second)
	var disabled []bool
	p.eval(`['act-kick', 'act-shutdown', 'act-delcred'].map((id) => document.getElementById(id).disabled)`, &disabled)
	assert.Equal(t, []bool{true, true, true}, disabled, "kick, shut down, delete credential of client '..'")
	// Whatever the buttons say, the page sends no such path.
	for _, id := range []string{"act-shutdown", "act-kick"} {
		p.eval(`(() => { const b = document.getElementById('`+id+`'); b.disabled = false; b.click() })()`, nil)
		p.confirm()
	}
	p.waitJS(`document.querySelectorAll('.flash').length === 2`, 5*time.Second)
	var flashes []string
	p.eval(`[...document.querySelectorAll('.flash')].map((f) => f.textContent)`, &flashes)
	for _, f := range flashes {
		assert.Contains(t, f, `a client ID of "." or ".." can not be named in a URL`)
	}
	// The clients table's Kick of "." and "..".
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.querySelector('tr[data-cid=".."]') && document.querySelector('tr[data-cid="."] .badge.on')`, 5*time.Second)
	var kicks int
	p.eval(`document.querySelectorAll('tr[data-cid="."] button, tr[data-cid=".."] button').length`, &kicks)
	assert.Zero(t, kicks, "no Kick button for a client the page can not name")
	assert.Empty(t, p.Problems())
	// Their credentials: Delete is off up front, and Create or rotate of
	// ".." says why at once, where both asked for a confirmation first.
	for _, path := range []string{"/v1/credentials/%2E", "/v1/credentials/%2E%2E"} {
		code, body := apiDo(t, s, "", "POST", path, "")
		require.Equal(t, 201, code, body)
	}
	p.open("http://" + s.AdminAddr + "/ui/#/credentials")
	p.waitJS(`document.querySelector('#creds-body tr[data-cid=".."]') && document.querySelector('#creds-body tr[data-cid="."]')`, 5*time.Second)
	var deletable []bool
	p.eval(`['.', '..'].map((c) => !document.querySelector('#creds-body tr[data-cid="' + c + '"] button').disabled)`, &deletable)
	assert.Equal(t, []bool{false, false}, deletable, "Delete of '.' and '..'")
	p.run(chromedp.SendKeys(`#cred-cid`, "..", chromedp.ByQuery))
	p.click(`#cred-form button[type=submit]`)
	p.waitJS(`[...document.querySelectorAll('.flash')].some((f) => f.textContent.includes('can not be named in a URL'))`, 5*time.Second)
	var asked bool
	p.eval(`document.getElementById('confirm').open`, &asked)
	assert.False(t, asked, "no confirmation for what cannot be done")
	assert.Empty(t, p.Problems())
	var ev struct {
		Events []struct {
			Type, CID string
		} `json:"events"`
	}
	apiGet(t, s, "", "/v1/events?type=client.shutdown_sent,client.disconnected", &ev)
	assert.Empty(t, ev.Events, "no client was shut down or kicked")
	var list struct {
		Clients []struct {
			CID     string `json:"cid"`
			CStatus bool   `json:"cstatus"`
			Reason  string `json:"reason"`
		} `json:"clients"`
	}
	apiGet(t, s, "", "/v1/clients", &list)
	require.Len(t, list.Clients, 3)
	for _, c := range list.Clients {
		assert.True(t, c.CStatus, "%s still connected (reason %q)", c.CID, c.Reason)
	}
}
