package ui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// What the page says of what an operator typed: each case was found by a
// browser audit, where the page blamed the server, or the wrong field,
// or showed rows that did not match.

// A token the browser cannot send (not printable ASCII) is refused as
// such, and an empty one asked for; before, the first read "The server
// does not answer" and the second did nothing.
func TestDashboardTokenPromptSaysWhatIsWrongWithTheTyping(t *testing.T) {
	needChromium(t)
	const token = "ui-admin-token-typed"
	s := serve(t, []string{"CLISER_ADMIN_TOKEN=" + token})
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/")
	p.waitJS(`document.getElementById('login').open`, 10*time.Second)
	for _, c := range []struct{ typed, says string }{
		{"abc✓", "An admin token is printable ASCII without spaces"},
		{"   ", "Type the admin token"},
	} {
		p.eval(`document.getElementById('login-token').value = `+fmt.Sprintf("%q", c.typed), nil)
		p.click(`#login-submit`)
		p.waitJS(fmt.Sprintf(`document.getElementById('login-error').textContent.startsWith(%q)`, c.says), 5*time.Second)
	}
	p.eval(`document.getElementById('login-token').value = ''`, nil)
	p.run(chromedp.SendKeys(`#login-token`, token, chromedp.ByQuery), chromedp.Click(`#login-submit`, chromedp.ByQuery))
	p.waitJS(`!document.getElementById('login').open && document.getElementById('stat-connected').textContent === '0'`, 5*time.Second)
	assert.Empty(t, p.Problems())
}

// A prefix no client ID can start leaves no row on show as if it matched.
func TestDashboardRefusedPrefixClearsTheRows(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "row-1")
	register(t, s, "row-2")
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.querySelectorAll('#clients-body tr').length === 2`, 10*time.Second)
	p.eval(`(() => { const i = document.getElementById('filter-prefix'); i.value = 'r'.repeat(65); i.dispatchEvent(new Event('input')); })()`, nil)
	p.waitJS(`document.getElementById('page-info').textContent.includes('at most 64') && document.querySelectorAll('#clients-body tr').length === 0`, 5*time.Second)
	// A client event counts the totals again, and the count put the last
	// good page's "page 1 · 2 shown" over the refusal, above no row.
	counted := p.draws("counted")
	register(t, s, "row-3")
	p.waitJS(fmt.Sprintf(`window.cliserDraws.counted > %d`, counted), 10*time.Second)
	var info string
	p.eval(`document.getElementById('page-info').textContent`, &info)
	assert.Equal(t, "prefix is 65 bytes: a client ID has at most 64", info)
	p.eval(`(() => { const i = document.getElementById('filter-prefix'); i.value = 'bad id!'; i.dispatchEvent(new Event('input')); })()`, nil)
	p.waitJS(`document.getElementById('page-info').textContent === 'prefix "bad id!" has a byte no client ID has (1 to 64 bytes of letters, digits and . _ : @ -)'
		&& document.querySelectorAll('#clients-body tr').length === 0`, 5*time.Second)
	// Said by the page as the API would, and not asked: its 400 was an
	// error in the console for what was only typing (dashboard audit).
	assert.Empty(t, p.Problems())
}

// The events view says a typed client ID is not one, and asks the log
// nothing: its 400 was dropped, and the view read "0 of 200 events".
func TestDashboardEventsSaysAClientIDIsNotOne(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "seen-1")
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	p.waitJS(live+` && document.querySelectorAll('#events-body tr').length === 1`, 10*time.Second)
	for _, typed := range []string{"a b<", strings.Repeat("z", 65)} {
		p.eval(fmt.Sprintf(`(() => { const i = document.getElementById('events-cid'); i.value = %q; i.dispatchEvent(new Event('input')); })()`, typed), nil)
		p.waitJS(fmt.Sprintf(`document.getElementById('events-info').textContent === %q`,
			fmt.Sprintf("%q is not a client ID: 1 to 64 of A-Z a-z 0-9 . _ : @ -", typed)), 5*time.Second)
	}
	p.eval(`(() => { const i = document.getElementById('events-cid'); i.value = 'seen-1'; i.dispatchEvent(new Event('input')); })()`, nil)
	p.waitDone("GET", "/v1/events?limit=200&cid=seen-1", 5*time.Second)
	p.waitJS(`document.getElementById('events-info').textContent.startsWith('1 event of seen-1')`, 5*time.Second)
	assert.Empty(t, p.Problems(), "the log was asked for what is no client ID")
}

// The Bans form says what the API would refuse before its confirmation,
// which names the reason and length of the ban to be made; the
// credentials form says so of a grace that is no duration. Before, the
// dialog asked "Ban ip 203.0.113.9?" alone, and promised an old secret
// "keeps working for abc", then the API answered 400.
func TestDashboardFormsCheckDurationsBeforeConfirming(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/bans")
	p.waitJS(`!!document.getElementById('ban-form')`, 10*time.Second)
	setBan := func(kind, value, reason, duration string) {
		p.eval(fmt.Sprintf(`(() => { document.getElementById('ban-kind').value = %q; document.getElementById('ban-value').value = %q;
			document.getElementById('ban-reason').value = %q; document.getElementById('ban-duration').value = %q;
			document.getElementById('ban-form').requestSubmit(); })()`, kind, value, reason, duration), nil)
	}
	setBan("ip", "203.0.113.9", "noisy", "abc")
	p.waitJS(`[...document.querySelectorAll('.flash.error')].some((f) => f.textContent.startsWith('A duration is like 1h'))`, 5*time.Second)
	setBan("ip", "203.0.113.9", strings.Repeat("r", 257), "1h")
	p.waitJS(`[...document.querySelectorAll('.flash.error')].some((f) => f.textContent === 'The reason is 257 bytes: at most 256.')`, 5*time.Second)
	var open bool
	p.eval(`document.getElementById('confirm').open`, &open)
	assert.False(t, open, "a confirmation of a ban the API would refuse")

	setBan("ip", "203.0.113.9", "noisy", "90m")
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	var text string
	p.eval(`document.getElementById('confirm-text').textContent`, &text)
	assert.Equal(t, `It lasts 90m, for "noisy". Matching live sessions close with "190 banned".`, text)
	p.confirm()
	var bans struct {
		Bans []struct{ Value, Reason string }
	}
	require.Eventually(t, func() bool { apiGet(t, s, "", "/v1/bans", &bans); return len(bans.Bans) == 1 }, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, "noisy", bans.Bans[0].Reason)
	setBan("cid", "dev-9", "", "")
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	p.eval(`document.getElementById('confirm-text').textContent`, &text)
	assert.Equal(t, `It lasts until lifted, with no reason given. Matching live sessions close with "190 banned".`, text)
	p.click(`#confirm-cancel`)

	p.eval(`location.hash = '#/credentials'`, nil)
	p.waitJS(`!!document.getElementById('cred-form')`, 10*time.Second)
	p.eval(`(() => { document.getElementById('cred-cid').value = 'rot-1'; document.getElementById('cred-grace').value = 'abc';
		document.getElementById('cred-form').requestSubmit(); })()`, nil)
	p.waitJS(`[...document.querySelectorAll('.flash.error')].some((f) => f.textContent.startsWith("The old secret's grace is a duration like 24h"))`, 5*time.Second)
	p.eval(`document.getElementById('confirm').open`, &open)
	assert.False(t, open)
	assert.Empty(t, p.Problems(), "nothing the API refused was asked")
}

// The credentials form says a client ID is not one, whatever it is:
// before, spaces read "no endpoint /v1/credentials/" and 65 characters
// "prefix is 65 bytes", from the page's own lookup.
func TestDashboardCredentialsFormChecksTheClientID(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/credentials")
	p.waitJS(`!!document.getElementById('cred-form')`, 10*time.Second)
	for _, typed := range []string{"   ", strings.Repeat("c", 65), "a b"} {
		p.eval(`document.getElementById('cred-cid').value = `+fmt.Sprintf("%q", typed), nil)
		p.eval(`document.getElementById('cred-form').requestSubmit()`, nil)
		p.waitJS(fmt.Sprintf(`[...document.querySelectorAll('.flash.error')].some((f) => f.textContent === %q)`,
			fmt.Sprintf("%q is not a client ID: 1 to 64 of A-Z a-z 0-9 . _ : @ -", strings.TrimSpace(typed))), 5*time.Second)
	}
	assert.Empty(t, p.Problems(), "nothing was asked of the API")
}

// Paused, "N new" counts through the filters as they are now: changed
// while paused, the count follows.
func TestDashboardEventsPausedCountFollowsAFilterChange(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	p.waitJS(live, 10*time.Second)
	p.click(`#events-pause`)
	for i := range 3 {
		register(t, s, fmt.Sprintf("held-%d", i))
	}
	register(t, s, "held-1") // a takeover: held-1 disconnected (replaced), then connected again
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 5 new'`, 10*time.Second)
	setCID := func(v string) {
		p.eval(fmt.Sprintf(`(() => { const i = document.getElementById('events-cid'); i.value = %q; i.dispatchEvent(new Event('input')); })()`, v), nil)
	}
	setType := func(v string) {
		p.eval(fmt.Sprintf(`(() => { const s = document.getElementById('events-type'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, v), nil)
	}
	setCID("nobody")
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 0 new'`, 5*time.Second)
	setCID("held-1")
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 3 new'`, 5*time.Second)
	setType("client.disconnected")
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 1 new'`, 5*time.Second)
	setCID("")
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 1 new'`, 5*time.Second)
	setType("client.connected")
	p.waitJS(`document.getElementById('events-info').textContent === 'paused · 4 new'`, 5*time.Second)
	assert.Empty(t, p.Problems())
}

// A page open on a server without an event log finds the log the server
// has after a restart, without a reload: the badge goes live and the
// Events view shows the new events. Before, it kept "no event log".
func TestDashboardFindsTheEventLogOfARestartedServer(t *testing.T) {
	needChromium(t)
	listen, admin, dir := testkit.FreeAddr(t), testkit.FreeAddr(t), t.TempDir()
	s := serveAt(t, listen, admin, dir, "--event-retention", "0")
	p := newBrowser(t)
	p.open("http://" + admin + "/ui/#/events")
	p.waitJS(`document.getElementById('live').textContent === 'no event log'`, 10*time.Second)
	require.Empty(t, p.Problems())
	kill9(t, s)
	s = serveAt(t, listen, admin, dir)
	register(t, s, "after-log")
	took := p.waitJS(live+` && [...document.querySelectorAll('#events-body tr')].some((r) => r.children[3].textContent === 'after-log')`, 20*time.Second)
	t.Logf("the page found the event log %s after the server was back", took.Round(time.Millisecond))
	_ = p.Problems() // what the page asked while the server was away
}

// The other way round: a page live on a server restarted without an
// event log says "no event log", and asks for no stream meanwhile: it
// tried once first and met a 404, an error in the browser's console
// (dashboard audit).
func TestDashboardLosesTheEventLogOfARestartedServerWithoutA404(t *testing.T) {
	needChromium(t)
	listen, admin, dir := testkit.FreeAddr(t), testkit.FreeAddr(t), t.TempDir()
	s := serveAt(t, listen, admin, dir)
	p := newBrowser(t)
	p.open("http://" + admin + "/ui/#/overview")
	p.waitJS(live, 10*time.Second)
	require.Empty(t, p.Problems())
	kill9(t, s)
	serveAt(t, listen, admin, dir, "--event-retention", "0")
	p.waitJS(`document.getElementById('live').textContent === 'no event log'`, 20*time.Second)
	for _, problem := range p.Problems() { // the stream cut and the server away meanwhile, and nothing else
		assert.Regexp(t, `ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED_ENCODING`, problem)
	}
}

// A client's page follows its last_seen, which no event says: read again
// while it is connected. Before, it kept the time the page was opened.
func TestDashboardClientPageFollowsLastSeen(t *testing.T) {
	needChromium(t)
	s := serve(t, nil, "--keepalive-interval", "1s")
	agent(t, s, "seen-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/client/seen-1")
	p.waitJS(recordJS("status")+` === 'connected'`, 10*time.Second)
	var first string
	p.eval(recordJS("last seen"), &first)
	p.waitJS(fmt.Sprintf(`%s !== %q`, recordJS("last seen"), first), 25*time.Second)
	assert.Empty(t, p.Problems())
}

// The shutdown dialog says a reason is too long and stays open with it,
// and says what becomes of characters the protocol line cannot carry.
// Before, it closed on the API's refusal, and the typed text was lost.
func TestDashboardShutdownDialogKeepsATooLongReason(t *testing.T) {
	c, p := openShutdownDialog(t, "long-reason")
	var label string
	p.eval(`document.querySelector('#confirm-fields label').textContent`, &label)
	assert.Contains(t, label, `any other character reaches the device as "?"`)
	p.eval(`document.querySelector('#confirm-fields input').value = 'r'.repeat(499)`, nil)
	p.click(`#confirm-ok`)
	p.waitJS(`document.querySelector('#confirm-fields input').validationMessage === 'The reason is 499 bytes: at most 498 fit the 130 line.'`, 5*time.Second)
	var open bool
	p.eval(`document.getElementById('confirm').open && document.querySelector('#confirm-fields input').value.length === 499`, &open)
	assert.True(t, open, "the dialog stays, with what was typed")
	p.eval(`(() => { const i = document.querySelector('#confirm-fields input'); i.value = 'r'.repeat(498); i.dispatchEvent(new Event('input')); })()`, nil)
	p.click(`#confirm-ok`)
	c.Expect("130 shutdown " + strings.Repeat("r", 498))
	assert.Empty(t, p.Problems())
}

// A confirmation goes with the view it was asked on: Back while "Kick
// x?" is open put the clients view under a dialog whose Confirm still
// kicked x.
func TestDashboardConfirmationGoesWithItsView(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "stays-1")
	p := newBrowser(t)
	base := "http://" + s.AdminAddr + "/ui/"
	p.open(base + "#/clients")
	p.waitJS(cellJS("stays-1", 0)+` === 'stays-1'`, 10*time.Second)
	p.run(chromedp.Navigate(base + "#/client/stays-1"))
	p.waitJS(`!document.getElementById('act-kick').disabled`, 10*time.Second)
	p.click(`#act-kick`)
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	p.eval(`history.back()`, nil)
	p.waitJS(`document.getElementById('main').dataset.view === 'clients' && !document.getElementById('confirm').open`, 5*time.Second)
	var rec struct {
		CStatus bool `json:"cstatus"`
	}
	apiGet(t, s, "", "/v1/clients/stays-1", &rec)
	assert.True(t, rec.CStatus, "no kick went out")
	assert.Empty(t, p.Problems())
}

// The ban form says a client ID is not one before it asks to confirm, as
// the credentials' form does: it sent the request, and the API's 400 was
// the first word of it (and a failed request in the console).
func TestDashboardBanFormChecksTheClientID(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/bans")
	p.waitJS(`document.getElementById('ban-form')`, 10*time.Second)
	p.run(chromedp.SendKeys(`#ban-value`, "not an id", chromedp.ByQuery))
	p.click(`#ban-form button[type=submit]`)
	p.waitJS(`[...document.querySelectorAll('.flash')].some((f) => f.textContent === '"not an id" is not a client ID: 1 to 64 of A-Z a-z 0-9 . _ : @ -')`, 5*time.Second)
	var asked bool
	p.eval(`document.getElementById('confirm').open`, &asked)
	assert.False(t, asked, "no confirmation of a ban the API would refuse")
	assert.Empty(t, p.Problems(), "no request went out")
}

// The client's Ban dialog says what the API would refuse (a reason over
// 256 bytes, a duration that is none) and stays open with what was
// typed, as the shutdown dialog does. It closed on the API's 400.
func TestDashboardBanDialogKeepsWhatWasTyped(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "ban-typed")
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/client/ban-typed")
	p.waitJS(`!document.getElementById('act-ban').disabled`, 10*time.Second)
	p.click(`#act-ban`)
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	field := func(name string) string { return `document.querySelector('#confirm-fields input[name=` + name + `]')` }
	set := func(name, value string) {
		p.eval(fmt.Sprintf(`(() => { const i = %s; i.value = %q; i.dispatchEvent(new Event('input')); })()`, field(name), value), nil)
	}
	for _, c := range []struct{ name, value, why string }{
		{"reason", strings.Repeat("r", 257), "The reason is 257 bytes: at most 256."},
		{"duration", "abc", "A duration is like 1h, 30m or 1h30m (empty: until lifted)."},
		{"duration", "0s", "A ban lasts more than 0 (empty: until lifted)."},
	} {
		set("reason", "ok")
		set("duration", "")
		set(c.name, c.value)
		p.click(`#confirm-ok`)
		p.waitJS(fmt.Sprintf(`%s.validationMessage === %q`, field(c.name), c.why), 5*time.Second)
		var kept bool
		p.eval(fmt.Sprintf(`document.getElementById('confirm').open && %s.value === %q`, field(c.name), c.value), &kept)
		assert.True(t, kept, "%s %q: the dialog stays, with what was typed", c.name, c.value)
	}
	set("reason", "typed")
	set("duration", "1h30m")
	p.click(`#confirm-ok`)
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric("http://"+s.AdminAddr, `cliser_bans_active{kind="cid"}`)
		return ok && n == 1
	}, 5*time.Second, 20*time.Millisecond, "the ban made once the fields pass")
	var bans struct {
		Bans []struct{ Value, Reason string } `json:"bans"`
	}
	apiGet(t, s, "", "/v1/bans", &bans)
	require.Len(t, bans.Bans, 1)
	assert.Equal(t, "ban-typed", bans.Bans[0].Value)
	assert.Equal(t, "typed", bans.Bans[0].Reason)
	assert.Empty(t, p.Problems())
}

// After a shutdown ordered from a client's page the keyboard's focus
// stays on the page, on its heading, when the client's ending disables
// the Shut down button the dialog gave the focus back to: it fell to
// <body>, and a keyboard user lost their place (as with a Clients row's
// Kick, bf35327).
func TestDashboardShutdownKeepsTheFocus(t *testing.T) {
	c, p := openShutdownDialog(t, "sd-focus")
	p.eval(`document.querySelector('#confirm-fields input').value = 'bye'`, nil)
	p.confirm()
	c.Expect("130 shutdown bye")
	p.waitJS(`document.activeElement.id === 'act-shutdown'`, 5*time.Second) // given back by the dialog
	c.Send("130 ok\n")
	c.ExpectClosed()
	p.waitJS(recordJS("status")+` === 'disconnected' && document.getElementById('act-shutdown').disabled`, 10*time.Second)
	var focused string
	p.eval(`document.activeElement.tagName + ' ' + document.activeElement.textContent.slice(0, 40)`, &focused)
	assert.Equal(t, "H1 sd-focus", focused)
	assert.Empty(t, p.Problems())
}

// openShutdownDialog registers cid, opens its page in a browser and its
// Shut down dialog.
func openShutdownDialog(t *testing.T, cid string) (*testkit.RawClient, *page) {
	t.Helper()
	needChromium(t)
	s := serve(t, nil)
	c := register(t, s, cid)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/client/" + cid)
	p.waitJS(`!document.getElementById('act-shutdown').disabled`, 10*time.Second)
	p.click(`#act-shutdown`)
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	return c, p
}

// A credential for a client ID that has a record asks first, and says the
// shared password then stops admitting that device; one no device used
// yet is created at once. It was created without a word, and the device
// failed its next connects (dashboard audit).
func TestDashboardCreatingACredentialForAKnownDeviceAsksFirst(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "known-1")
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/credentials")
	p.waitJS(`!!document.getElementById('cred-form')`, 10*time.Second)

	p.run(chromedp.SetValue(`#cred-cid`, "known-1", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
	p.waitJS(`document.getElementById('confirm').open
		&& document.getElementById('confirm-text').textContent.includes('shared password then no longer admits it')
		&& document.getElementById('confirm-text').textContent.includes('its live session stays')`, 5*time.Second)
	p.click(`#confirm-cancel`)
	p.waitJS(`!document.getElementById('confirm').open`, 5*time.Second)
	status, body := apiDo(t, s, "", http.MethodGet, "/v1/credentials/known-1", "")
	assert.Equal(t, http.StatusNotFound, status, "cancelled: none created: %s", body)

	p.run(chromedp.SetValue(`#cred-cid`, "known-1", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	p.confirm()
	p.waitJS(`document.getElementById('secret-value')?.parentElement.textContent.includes('known-1')`, 5*time.Second)

	p.click(`#secret-box button:last-child`) // Done
	p.run(chromedp.SetValue(`#cred-cid`, "unused-1", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
	p.waitJS(`document.getElementById('secret-value')?.parentElement.textContent.includes('unused-1')`, 5*time.Second)
	var asked bool
	p.eval(`document.getElementById('confirm').open`, &asked)
	assert.False(t, asked, "no device used that ID: nothing to warn of")
	assert.Empty(t, p.Problems())
}
