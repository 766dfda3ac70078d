package ui_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// In a window 800 px wide no view is wider than the window: a table with
// more columns than fit scrolls sideways in its own box, and free text (a
// ban's reason, an event's detail) wraps. Before, the clients, events,
// bans and client views widened the whole page past its header (the
// clients table to 956 px), and a long ban reason did so at any width.
func TestDashboardNarrowWindow(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "narrow-0001")
	register(t, s, "narrow-0002")
	long := "<b>scanner</b> " + strings.Repeat("sending malformed handshakes all night long, ", 5)
	status, body := apiDo(t, s, "", http.MethodPost, "/v1/bans", `{"kind": "net", "value": "10.1.0.0/16", "reason": "`+long+`"}`)
	require.Equal(t, http.StatusCreated, status, body)
	status, body = apiDo(t, s, "", http.MethodPost, "/v1/clients/narrow-0002/shutdown", `{"reason": "`+long+`"}`)
	require.Equal(t, http.StatusAccepted, status, body)

	p := newBrowser(t, chromedp.WindowSize(800, 700))
	base := "http://" + s.AdminAddr + "/ui/"
	for _, v := range []struct{ hash, ready string }{
		{"#/overview", `document.getElementById('stat-connected').textContent !== '…'`},
		{"#/clients", cellJS("narrow-0002", 2) + ` === 'disconnected'`},
		{"#/client/narrow-0001", `document.querySelectorAll('#client-history tr td').length > 1`},
		{"#/events", `document.querySelectorAll('#events-body tr').length >= 4`},
		{"#/bans", `document.querySelector('#bans-body tr[data-ban]') !== null`},
		{"#/credentials", `document.getElementById('page-info').textContent !== 'loading…'`},
	} {
		p.blank()
		p.open(base + v.hash)
		p.waitJS(v.ready, 10*time.Second)
		var w struct{ Page, Window int }
		p.eval(`({Page: document.documentElement.scrollWidth, Window: innerWidth})`, &w)
		assert.LessOrEqual(t, w.Page, w.Window, "%s: the page is wider than the window", v.hash)
		p.screenshot("narrow-" + strings.NewReplacer("#/", "", "/", "-").Replace(v.hash))
	}
	assert.Empty(t, p.Problems())
}
