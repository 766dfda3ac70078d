package ui_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The token prompt can not be put away while the page has no token:
// every call of the page waits for it, and Escape closed it and left a
// page of '…' cards and "connecting…" with no way to sign in but a
// reload.
func TestDashboardTokenPromptStays(t *testing.T) {
	needChromium(t)
	const token = "ui-admin-token-escape"
	s := serve(t, []string{"CLISER_ADMIN_TOKEN=" + token})
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/")
	p.waitJS(`document.getElementById('login').open`, 10*time.Second)
	for range 3 { // the second Escape without a user activation closes what the first could not
		p.run(chromedp.KeyEvent("\x1b"))
		// A dialog's close event is a task of its own: let it run.
		p.eval(`window.settled = false; setTimeout(() => requestAnimationFrame(() => { window.settled = true }), 50)`, nil)
		p.waitJS(`window.settled`, 5*time.Second)
		var open bool
		p.eval(`document.getElementById('login').open`, &open)
		require.True(t, open, "Escape put the token prompt away")
	}
	p.run(chromedp.SendKeys(`#login-token`, token, chromedp.ByQuery), chromedp.Click(`#login-submit`, chromedp.ByQuery))
	p.waitJS(`!document.getElementById('login').open && document.getElementById('stat-connected').textContent === '0'`, 5*time.Second)
	require.Empty(t, p.Problems())
}

// A server restarted with another token: the page asks again and says why
// (the token it kept was refused), and the stream's badge says it was
// refused (401). The prompt came back with no word, under a badge that
// read "reconnecting…" as if the server were away.
func TestDashboardSaysWhenTheKeptTokenIsRefused(t *testing.T) {
	needChromium(t)
	listen, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
	args := []string{"--listen", listen, "--admin-listen", admin, "--data-dir", t.TempDir()}
	s := serve(t, []string{"CLISER_ADMIN_TOKEN=token-before"}, args...)
	p := newBrowser(t)
	p.open("http://" + admin + "/ui/")
	signIn := func(token string) {
		p.waitJS(`document.getElementById('login').open`, 20*time.Second)
		p.run(chromedp.SendKeys(`#login-token`, token, chromedp.ByQuery), chromedp.Click(`#login-submit`, chromedp.ByQuery))
		p.waitJS(`!document.getElementById('login').open && document.getElementById('live').textContent === 'live'`, 20*time.Second)
	}
	signIn("token-before")
	var msg string
	p.eval(`document.getElementById('login-error').textContent`, &msg)
	assert.Empty(t, msg, "a first sign-in has nothing to explain")
	require.Empty(t, p.Problems())

	require.Equal(t, 0, s.Stop(t))
	serve(t, []string{"CLISER_ADMIN_TOKEN=token-after"}, args...)
	p.waitJS(`document.getElementById('login').open && document.getElementById('login-error').textContent.includes('refused the token this tab kept')`, 20*time.Second)
	p.waitJS(`document.getElementById('live').textContent === 'reconnecting… (refused: 401)'`, 20*time.Second)
	var title string
	p.eval(`document.getElementById('live').title`, &title)
	assert.Contains(t, title, "refused the token")
	signIn("token-after")
	for _, problem := range p.Problems() { // the refused calls, and the server away meanwhile
		assert.Regexp(t, `HTTP 401|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|status of 401`, problem)
	}
}

// A server that wanted a token comes back wanting none: the prompt goes
// by itself and the page is live, its badge right. The prompt stayed over
// a page that waited behind it, with the badge of the server before
// (dashboard audit).
func TestDashboardTokenPromptGoesWhenTheServerWantsNone(t *testing.T) {
	needChromium(t)
	listen, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
	args := []string{"--listen", listen, "--admin-listen", admin, "--data-dir", t.TempDir()}
	s := serve(t, []string{"CLISER_ADMIN_TOKEN=token-before"}, append(args, "--event-retention", "0")...)
	p := newBrowser(t)
	p.open("http://" + admin + "/ui/")
	p.waitJS(`document.getElementById('login').open`, 20*time.Second)

	require.Equal(t, 0, s.Stop(t))
	serve(t, nil, args...)
	took := p.waitJS(`!document.getElementById('login').open && document.getElementById('live').textContent === 'live'
		&& document.getElementById('stat-connected').textContent === '0'`, 20*time.Second)
	t.Logf("the prompt went %s after the server came back without a token", took.Round(time.Millisecond))
	for _, problem := range p.Problems() { // the server away meanwhile
		assert.Regexp(t, `ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE`, problem)
	}
}
