package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
)

// unnamed lists the page's buttons, links, fields, dialogs, images and
// column headers that a screen reader has no name for, as chromium's
// accessibility tree says. The tree is read raw: cdproto's types refuse
// values a newer chromium sends.
func (p *page) unnamed() []string {
	p.t.Helper()
	type value struct {
		Value json.RawMessage `json:"value"`
	}
	var tree struct {
		Nodes []struct {
			Ignored bool   `json:"ignored"`
			Role    *value `json:"role"`
			Name    *value `json:"name"`
			DOMNode int    `json:"backendDOMNodeId"`
		} `json:"nodes"`
	}
	p.run(chromedp.ActionFunc(func(ctx context.Context) error {
		return cdp.Execute(ctx, "Accessibility.getFullAXTree", struct{}{}, &tree)
	}))
	var out []string
	for _, n := range tree.Nodes {
		var role, name string
		if n.Ignored || n.Role == nil {
			continue
		}
		_ = json.Unmarshal(n.Role.Value, &role)
		if n.Name != nil {
			_ = json.Unmarshal(n.Name.Value, &name)
		}
		switch role {
		case "button", "link", "textbox", "searchbox", "combobox", "dialog", "img", "image", "columnheader":
			if name == "" {
				out = append(out, fmt.Sprintf("%s (DOM node %d)", role, n.DOMNode))
			}
		}
	}
	return out
}

// TestDashboardNamesAndRoles: a screen reader has a name for every
// control, dialog, column and the chart, knows which view the header's
// links are on, and hears the stream's state and each message. The
// audit found the actions columns' headers empty, both dialogs unnamed
// (read as "dialog"), the chart a canvas with nothing to read, the view
// on show said by colour alone, the stream badge silent when it changed,
// and the messages' live region put in with the first of them (which a
// screen reader often misses).
func TestDashboardNamesAndRoles(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "a11y-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	apiDo(t, s, "", "POST", "/v1/bans", `{"kind":"ip","value":"203.0.113.9"}`)
	apiDo(t, s, "", "POST", "/v1/credentials/a11y-cred", "")
	p := newBrowser(t)
	base := "http://" + s.AdminAddr + "/ui/#/"
	for _, view := range []string{"overview", "clients", "client/a11y-1", "events", "bans", "credentials"} {
		p.open(base + view)
		p.waitJS(live+` && document.querySelectorAll('main tbody tr').length > 0`, 10*time.Second)
		var current []string
		p.eval(`[...document.querySelectorAll('#nav a[aria-current=page]')].map((a) => a.dataset.view)`, &current)
		want := view
		if view == "client/a11y-1" {
			want = "clients"
		}
		assert.Equal(t, []string{want}, current, "%s: the header's link of the view on show", view)
		var title string
		p.eval(`document.title`, &title)
		assert.Equal(t, map[string]string{"overview": "Overview · cliser", "clients": "Clients · cliser",
			"client/a11y-1": "a11y-1 · Client · cliser", "events": "Events · cliser", "bans": "Bans · cliser",
			"credentials": "Credentials · cliser"}[view], title, "%s: the tab's title names the view", view)
		assert.Empty(t, p.unnamed(), "%s: without a name", view)
	}
	var regions string
	p.eval(`['live', 'flashes'].map((id) => { const e = document.getElementById(id);
		return id + ':' + (e && (e.getAttribute('aria-live') || e.getAttribute('role'))) }).join(' ')`, &regions)
	assert.Equal(t, "live:status flashes:polite", regions, "live regions there from the start, before any message")

	p.open(base + "overview")
	p.waitJS(`document.getElementById('chart')?.dataset.ticks`, 10*time.Second)
	var chart string
	p.eval(`document.getElementById('chart').getAttribute('role') + ': ' + document.getElementById('chart').getAttribute('aria-label')`, &chart)
	assert.Regexp(t, `^img: .*connected clients`, chart)

	// The confirmation is named by its title, on each command.
	p.open(base + "client/a11y-1")
	p.waitJS(`!document.getElementById('act-shutdown').disabled`, 10*time.Second)
	p.click(`#act-shutdown`)
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	assert.Empty(t, p.unnamed(), "the shutdown dialog")
	p.run(chromedp.KeyEvent(kb.Escape))
	p.waitJS(`!document.getElementById('confirm').open && document.activeElement.id === 'act-shutdown'`, 5*time.Second)
	assert.Empty(t, p.Problems())
}
