package ui_test

import (
	"fmt"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tabs of the dashboard in the background let go of their event stream,
// and follow it again, from the last event they saw, once shown. Each
// open tab held one: over HTTP/1.1 a browser opens at most six
// connections to a host, so with six tabs (client pages opened in tabs
// from the Clients view, say) no tab had one left for its reads. The
// tab on show kept its green "live" badge over figures that no longer
// moved, and a seventh tab did not load at all.
func TestDashboardBackgroundTabsLetGoOfTheStream(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	agent(t, s, "tabs-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(live+` && document.querySelector('tr[data-cid="tabs-1"]')`, 10*time.Second)

	// Seven more tabs, one after the other, each in the background as a
	// click with Ctrl opens a link: more than the six connections of a
	// host. Each must load and read its client.
	p.eval(`window.tabs = []; true`, nil)
	for i := range 7 {
		p.eval(fmt.Sprintf(`tabs.push(window.open('/ui/#/client/tabs-1', 'tab%d')); true`, i), nil)
		p.waitJS(fmt.Sprintf(`tabs[%d].document.readyState === 'complete' && tabs[%d].location.pathname === '/ui/' &&
			tabs[%d].document.querySelector('#client-record [data-field=status]')?.textContent === 'connected'`, i, i, i), 10*time.Second)
	}
	var hidden int
	p.eval(`tabs.filter((w) => w.document.visibilityState === 'hidden').length`, &hidden)
	require.Positive(t, hidden, "no tab in the background: the test shows nothing")

	// A client connects while this tab is behind the others; brought
	// forward, the tab follows the stream again from the last event it
	// saw, and the client shows up in its table, live. Then the tabs
	// behind it are hidden, and it still reads.
	var state string
	p.eval(`document.visibilityState`, &state)
	require.Equal(t, "hidden", state, "the first tab is behind the last one opened")
	agent(t, s, "tabs-late")
	waitConnected(t, s, "", 2, 10*time.Second)
	p.run(cdppage.BringToFront())
	p.waitJS(`document.visibilityState === 'visible' && `+live, 10*time.Second)
	p.waitJS(`document.querySelector('tr[data-cid="tabs-late"] .badge.on')`, 10*time.Second)
	p.waitJS(`(async () => { const r = await Promise.race([fetch('/v1/stats'), new Promise((r) => setTimeout(r, 5000))]); return !!r && r.ok; })()`, 10*time.Second)
	p.eval(`tabs.forEach((w) => w.close()); true`, nil)
	assert.Empty(t, p.Problems(), "console errors or failed requests")
}
