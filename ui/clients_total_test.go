package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
)

// The clients page says how many records its filter has in all, beside
// the page's count, and follows clients that come and go on any page; a
// prefix's count is not kept, and none is said.
func TestDashboardClientsSaysTheTotal(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for i := range 5 {
		c := register(t, s, fmt.Sprintf("total-%d", i))
		if i >= 3 {
			_ = c.Conn.Close()
		}
	}
	waitConnected(t, s, "", 3, 10*time.Second)
	base := "http://" + s.AdminAddr
	p := newBrowser(t)
	info := func(want string) {
		t.Helper()
		p.waitJS(fmt.Sprintf(`document.getElementById('page-info')?.textContent === %q`, want), 10*time.Second)
	}

	p.open(base + "/ui/#/clients")
	info("page 1 · 5 shown · 5 records in all")
	p.open(base + "/ui/#/clients?status=disconnected")
	info("page 1 · 2 shown · 2 disconnected in all")
	p.open(base + "/ui/#/clients?status=connected")
	info("page 1 · 3 shown · 3 connected in all")
	register(t, s, "total-new")
	info("page 1 · 4 shown · 4 connected in all")
	p.open(base + "/ui/#/clients?prefix=total-1")
	info("page 1 · 1 shown")
	assert.Empty(t, p.Problems())
}

// The total comes with the first rows, and a prefix typed under a status
// filter never shows the filter's total beside the prefix's rows: the
// first total waited for the page's second second (its coalescing counted
// from navigation start), and a typed prefix showed the old total for
// ~2 s beside the rows it had filtered.
func TestDashboardClientsTotalIsNeverLateOrStale(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for i := range 12 {
		register(t, s, fmt.Sprintf("late-%02d", i))
	}
	waitConnected(t, s, "", 12, 10*time.Second)
	p := newBrowser(t)
	// Every text the page's count shows, with when.
	p.run(chromedp.Evaluate(`window.infos = []`, nil))
	p.open("http://" + s.AdminAddr + "/ui/#/clients?status=connected")
	p.eval(`(() => { const el = document.getElementById('page-info'); window.infos = [{t: performance.now(), s: el.textContent}];
		new MutationObserver(() => window.infos.push({t: performance.now(), s: el.textContent})).observe(el, {childList: true, characterData: true, subtree: true}); })()`, nil)
	p.waitJS(`document.getElementById('page-info').textContent === 'page 1 · 12 shown · 12 connected in all'`, 10*time.Second)
	var gap float64
	p.eval(`(() => { const rows = window.infos.find((i) => i.s.includes('shown')); const all = window.infos.find((i) => i.s.includes('in all'));
		return rows && all ? all.t - rows.t : 0 })()`, &gap)
	assert.Less(t, gap, 1000.0, "ms between the first rows and their total")

	p.run(chromedp.SendKeys(`#filter-prefix`, "late-1", chromedp.ByQuery))
	p.waitJS(`document.getElementById('page-info').textContent === 'page 1 · 2 shown'`, 10*time.Second)
	var stale []string
	p.eval(`window.infos.map((i) => i.s).filter((s) => s.startsWith('page 1 · 2 shown ·'))`, &stale)
	assert.Empty(t, stale, "a total beside the prefix's rows")
	assert.Empty(t, p.Problems())
}
