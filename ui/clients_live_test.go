package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/internal/testkit"
)

// cellJS is the text of column i of cid's row in the clients table, or
// null without such a row. Columns: 0 cid, 1 sid, 2 status, 3 cip:cport,
// 4 node, 5 connected since, 6 last seen, 7 last reason.
func cellJS(cid string, i int) string {
	return fmt.Sprintf(`document.querySelector('tr[data-cid=%q]')?.children[%d].textContent`, cid, i)
}

// The clients table's live rows on a page after the first, and how a row
// changes when its client comes back.
func TestDashboardClientsLive(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	// 250 records: page 1 holds live-000..099, page 2 live-100..199, page
	// 3 the rest. live-010 (page 1), live-120 (page 2) and live-220
	// (page 3) stay connected; the others hang up.
	held := map[string]*testkit.RawClient{}
	for i := range 250 {
		id := fmt.Sprintf("live-%03d", i)
		c := register(t, s, id)
		if i == 10 || i == 120 || i == 220 {
			held[id] = c
		} else {
			_ = c.Conn.Close()
		}
	}
	waitConnected(t, s, "", 3, 10*time.Second)
	base := "http://" + s.AdminAddr
	p := newBrowser(t)
	top := t // clients registered in a subtest stay for the next ones

	t.Run("Page2HoldsOnlyItsOwnRange", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/clients")
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
		p.click(`#page-next`)
		p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'live-100' && document.querySelectorAll('#clients-body tr').length === 100`, 5*time.Second)
		// A client of page 1 and one of page 3 drop; then one that belongs
		// on page 2 registers. The stream brings them in that order, so
		// once the last shows, the page has handled the other two.
		_ = held["live-010"].Conn.Close()
		_ = held["live-220"].Conn.Close()
		waitRecord(t, s, "live-010", false, 5*time.Second)
		waitRecord(t, s, "live-220", false, 5*time.Second)
		register(top, s, "live-150x")
		p.waitJS(`document.querySelector('tr[data-cid="live-150x"] .badge.on')`, 5*time.Second)
		var first, n string
		p.eval(`document.querySelector('#clients-body tr').dataset.cid`, &first)
		p.eval(`String(document.querySelectorAll('#clients-body tr').length)`, &n)
		assert.Equal(t, "live-100", first, "a page-1 client that drops does not show on page 2")
		assert.Equal(t, "101", n, "page 2: its 100 rows and live-150x, no client of page 1 or 3")
		p.waitJS(`document.getElementById('page-info').textContent === 'page 2 · 101 shown · 251 records in all'`, 5*time.Second)
		var order bool
		p.eval(`(() => { const c = [...document.querySelectorAll('#clients-body tr')].map((r) => r.dataset.cid);
			return c.every((x, i) => i === 0 || c[i - 1] < x) })()`, &order)
		assert.True(t, order, "rows stay in client-ID order")
		assert.Empty(t, p.Problems())
	})

	t.Run("ReconnectClearsLastReason", func(t *testing.T) {
		p.t = t
		status, body := apiDo(t, s, "", "POST", "/v1/clients/live-120/kick", "")
		assert.Equal(t, 202, status, body)
		held["live-120"].ExpectClosed("190 kicked")
		p.waitJS(cellJS("live-120", 7)+` === 'kicked' && document.querySelector('tr[data-cid="live-120"] .badge.off')`, 5*time.Second)
		register(top, s, "live-120")
		p.waitJS(`document.querySelector('tr[data-cid="live-120"] .badge.on')`, 5*time.Second)
		var rec struct {
			Reason string `json:"reason"`
		}
		apiGet(t, s, "", "/v1/clients/live-120", &rec)
		var reason, seen string
		p.eval(cellJS("live-120", 7), &reason)
		p.eval(cellJS("live-120", 6), &seen)
		assert.Equal(t, "", rec.Reason, "the API: no reason while connected")
		assert.Equal(t, "—", reason, "the row: no last reason while connected, as the API says")
		assert.Equal(t, "now", seen)
		assert.Empty(t, p.Problems())
	})

	t.Run("RowFromADisconnectEvent", func(t *testing.T) {
		p.t = t
		// Connected before the page loads and not listed (status
		// disconnected): its row comes from the disconnect event alone.
		c := register(t, s, "live-050x")
		p.open(base + "/ui/#/clients?status=disconnected")
		p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'live-000'`, 5*time.Second)
		_ = c.Conn.Close()
		p.waitJS(`document.querySelector('tr[data-cid="live-050x"] .badge.off')`, 5*time.Second)
		var addr, since, sid string
		p.eval(cellJS("live-050x", 3), &addr)
		p.eval(cellJS("live-050x", 5), &since)
		p.eval(cellJS("live-050x", 1), &sid)
		assert.Regexp(t, `^127\.0\.0\.1:\d+$`, addr, "the event carries cip and cport")
		assert.Regexp(t, `^[1-9]\d*$`, sid, "a disconnected row shows its last sid, as the API gives it")
		assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, since, "the event carries connected_at")
		assert.Empty(t, p.Problems())
	})

	t.Run("FiltersSurviveAReload", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/clients")
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100`, 5*time.Second)
		p.run(chromedp.SendKeys(`#filter-prefix`, "live-12", chromedp.ByQuery))
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 10`, 5*time.Second)
		p.run(chromedp.SetValue(`#filter-status`, "disconnected", chromedp.ByQuery))
		p.eval(`document.getElementById('filter-status').dispatchEvent(new Event('change'))`, nil)
		p.waitJS(`location.hash.includes('prefix=live-12') && location.hash.includes('status=disconnected')`, 5*time.Second)
		p.reload()
		p.waitJS(`document.getElementById('filter-prefix')?.value === 'live-12' && document.getElementById('filter-status').value === 'disconnected'`, 10*time.Second)
		// live-120 is connected again: the other nine.
		p.waitJS(`(() => { const r = [...document.querySelectorAll('#clients-body tr')].map((r) => r.dataset.cid);
			return r.length === 9 && r[0] === 'live-121' })()`, 5*time.Second)
		assert.Empty(t, p.Problems())
	})
}
