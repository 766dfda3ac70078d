package ui_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
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
