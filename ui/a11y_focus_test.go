package ui_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// focusedRow says where the keyboard's focus is: the key of its row in
// the list (attribute attr) and its element, or the element alone.
func focusedRow(attr string) string {
	return `(() => { const e = document.activeElement; const tr = e.closest('tbody tr');
		return (tr ? tr.getAttribute('` + attr + `') + ' ' : '') + e.tagName + ' ' + e.textContent.trim().slice(0, 40) })()`
}

// TestDashboardListsKeepTheFocus: a list read again keeps the keyboard's
// focus where it was. The audit found it fell to <body> (Tab started over
// from the page's top) each time a list was read again: after a Lift or a
// Delete, on any ban or credential event while the focus was in the
// table, and every 2 s in the clients table of a server without an event
// log, which polls.
func TestDashboardListsKeepTheFocus(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for _, ip := range []string{"203.0.113.1", "203.0.113.2"} {
		status, body := apiDo(t, s, "", "POST", "/v1/bans", `{"kind":"ip","value":"`+ip+`"}`)
		require.Less(t, status, 300, body)
	}
	apiDo(t, s, "", "POST", "/v1/credentials/a11y-cred", "")
	p := newBrowser(t)
	base := "http://" + s.AdminAddr + "/ui/#/"
	var at string

	t.Run("Bans", func(t *testing.T) {
		p.t = t
		p.open(base + "bans")
		p.waitJS(live+` && document.querySelectorAll('#bans-body button').length === 2`, 10*time.Second)
		// Another ban comes in (the list is read again on its event).
		p.eval(`window.before = document.querySelector('#bans-body tr[data-ban="ip/203.0.113.2"] button'); before.focus(); true`, nil)
		apiDo(t, s, "", "POST", "/v1/bans", `{"kind":"ip","value":"203.0.113.3"}`)
		p.waitJS(`document.querySelectorAll('#bans-body button').length === 3 && !before.isConnected`, 10*time.Second)
		p.eval(focusedRow("data-ban"), &at)
		assert.Equal(t, "ip/203.0.113.2 BUTTON Lift", at, "after another ban came in")
		// Lifted by keyboard: the focus goes to the Lift of the row now
		// in its place.
		p.run(chromedp.KeyEvent(kb.Enter))
		p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
		p.run(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter)) // Cancel has the focus first; then Lift
		p.waitJS(`document.querySelectorAll('#bans-body button').length === 2`, 10*time.Second)
		p.waitDone("DELETE", "/v1/bans/ip/203.0.113.2", 5*time.Second)
		p.eval(focusedRow("data-ban"), &at)
		assert.Equal(t, "ip/203.0.113.3 BUTTON Lift", at, "after a Lift")
		assert.Empty(t, p.Problems())
	})

	t.Run("Credentials", func(t *testing.T) {
		p.t = t
		p.open(base + "credentials")
		p.waitJS(live+` && document.querySelectorAll('#creds-body button').length === 1`, 10*time.Second)
		p.eval(`document.querySelector('#creds-body button').focus(); true`, nil)
		p.run(chromedp.KeyEvent(kb.Enter))
		p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
		p.run(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
		p.waitJS(`document.getElementById('creds-body').textContent === 'no credentials'`, 10*time.Second)
		p.waitDone("DELETE", "/v1/credentials/a11y-cred", 5*time.Second)
		p.eval(focusedRow("data-cid"), &at)
		assert.Equal(t, "H1 Credentials", at, "the last one deleted: on the view's heading")
		// A new secret is said by a live region; Done puts it away and
		// the focus, which was on it, on the form's first field.
		p.eval(`document.getElementById('cred-cid').value = 'a11y-new'; document.querySelector('#cred-form button[type=submit]').click(); true`, nil)
		p.waitJS(`document.getElementById('secret-value')`, 10*time.Second)
		var role string
		p.eval(`document.getElementById('secret-box').getAttribute('role')`, &role)
		assert.Equal(t, "status", role, "the box of the new secret")
		p.eval(`[...document.querySelectorAll('#secret-box button')].find((b) => b.textContent === 'Done').focus(); true`, nil)
		p.run(chromedp.KeyEvent(kb.Enter))
		p.waitJS(`!document.getElementById('secret-value')`, 5*time.Second)
		p.eval(focusedRow("data-cid"), &at)
		assert.Equal(t, "INPUT ", at, "after Done")
		p.eval(`document.activeElement.id`, &at)
		assert.Equal(t, "cred-cid", at, "after Done")
		assert.Empty(t, p.Problems())
	})

	t.Run("ClientsPolled", func(t *testing.T) {
		p.t = t
		off := serve(t, nil, "--event-retention", "0")
		register(t, off, "a11y-polled")
		waitConnected(t, off, "", 1, 10*time.Second)
		p.open("http://" + off.AdminAddr + "/ui/#/clients")
		p.waitJS(`document.querySelector('#clients-body tr[data-cid="a11y-polled"] button')`, 10*time.Second)
		p.eval(`window.before = document.querySelector('#clients-body tr[data-cid="a11y-polled"] button'); before.focus(); true`, nil)
		p.waitJS(`!before.isConnected`, 10*time.Second) // the 2 s poll drew the rows again
		p.eval(focusedRow("data-cid"), &at)
		assert.Equal(t, "a11y-polled BUTTON Kick", at)
		assert.Empty(t, p.Problems())
	})
}
