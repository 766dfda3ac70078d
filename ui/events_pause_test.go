package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
)

// eventCIDs is the cid column of the events table, top to bottom.
const eventCIDs = `[...document.querySelectorAll('#events-body tr')].map((r) => r.children[3].textContent)`

// Paused, the feed shows what it showed when paused, whatever the filters
// do, until Resume.
func TestDashboardEventsPause(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "ev-before")
	waitConnected(t, s, "", 1, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	p.waitJS(live+` && `+eventCIDs+`.includes('ev-before')`, 10*time.Second)

	p.click(`#events-pause`)
	p.waitJS(`document.getElementById('events-pause').textContent === 'Resume'`, 5*time.Second)
	register(t, s, "ev-paused")
	p.waitJS(`document.getElementById('main').textContent.includes('paused · 1 new')`, 5*time.Second)

	// A filter redraws, still paused: ev-paused's event arrived after the
	// pause and must not show.
	drawn := p.draws("events")
	p.run(chromedp.SetValue(`#events-type`, "client.connected", chromedp.ByQuery))
	p.eval(`document.getElementById('events-type').dispatchEvent(new Event('change'))`, nil)
	p.waitJS(`window.cliserDraws.events > `+fmt.Sprint(drawn), 5*time.Second)
	var cids []string
	p.eval(eventCIDs, &cids)
	assert.Equal(t, []string{"ev-before"}, cids, "paused: a type filter shows only what was shown, filtered")
	drawn = p.draws("events")
	p.run(chromedp.SendKeys(`#events-cid`, "ev-paused", chromedp.ByQuery))
	p.waitJS(`window.cliserDraws.events > `+fmt.Sprint(drawn), 5*time.Second)
	p.eval(eventCIDs, &cids)
	assert.Empty(t, cids, "paused: a cid filter does not bring in what arrived since")
	var info string
	p.eval(`document.querySelector('#main .toolbar').textContent`, &info)
	assert.Contains(t, info, "paused", "still paused after the filters changed")

	p.click(`#events-pause`)
	p.waitJS(eventCIDs+`.join() === 'ev-paused'`, 5*time.Second)
	assert.Empty(t, p.Problems())
}

// The Events view shows the log's newest events however it is reached:
// opened after the Overview had heard an event, it showed that event
// alone, not the log before it.
func TestDashboardEventsFillAfterAnotherView(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "ev-earlier")
	waitConnected(t, s, "", 1, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/")
	p.waitJS(live, 10*time.Second)
	register(t, s, "ev-heard")
	waitConnected(t, s, "", 2, 10*time.Second)
	p.waitJS(`document.getElementById('stat-connected')?.textContent === '2'`, 10*time.Second) // the stream brought it
	p.eval(`location.hash = '#/events'`, nil)
	p.waitJS(eventCIDs+`.join() === 'ev-heard,ev-earlier'`, 10*time.Second)
	assert.Empty(t, p.Problems())
}
