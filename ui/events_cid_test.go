package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
)

// A client ID typed in the Events view finds that client's events in the
// log, not only among those on screen: with a fleet's worth of events
// since, its connect was past the feed and the filter showed nothing.
func TestDashboardEventsFindAClientsOlderEvents(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "old-one")
	for i := range 250 { // the feed opens on the log's newest 200
		register(t, s, fmt.Sprintf("later-%03d", i))
	}
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	p.waitJS(`document.querySelectorAll('#events-body tr').length === 200`, 10*time.Second)
	p.run(chromedp.SendKeys(`#events-cid`, "old-one", chromedp.ByQuery))
	p.waitJS(`(() => { const rows = [...document.querySelectorAll('#events-body tr')];
		return rows.length === 1 && rows[0].children[3].textContent === 'old-one' && rows[0].children[2].textContent === 'client.connected' })()`, 10*time.Second)
	var info string
	p.eval(`document.getElementById('events-info').textContent`, &info)
	assert.Equal(t, "1 event of old-one: the log's newest, then live", info)

	register(t, s, "old-one") // its next session's events join live
	p.waitJS(`document.querySelectorAll('#events-body tr').length === 3`, 10*time.Second)
	assert.Empty(t, p.Problems())
}
