package ui_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// watchEventRows counts the rows put in and taken out of the events
// table from now on, in window.rowsAdded and window.rowsRemoved;
// countFromNow sets both back to 0.
const (
	countFromNow   = `window.rowsAdded = 0; window.rowsRemoved = 0`
	watchEventRows = countFromNow + `; new MutationObserver((ms) => { for (const m of ms) { window.rowsAdded += m.addedNodes.length; window.rowsRemoved += m.removedNodes.length; } })
		.observe(document.getElementById('events-body'), { childList: true })`
)

// A new event puts its row at the top of the Events view and takes none
// of the others out: a row already on show is the same element after,
// and past the feed's 500 only the oldest go. Before, every event drew
// all (up to 500) rows again.
func TestDashboardEventsAddOnlyTheNewRows(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "rows-first")
	waitConnected(t, s, "", 1, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	p.waitJS(live+` && `+eventCIDs+`.join() === 'rows-first'`, 10*time.Second)

	p.eval(watchEventRows, nil)
	p.eval(`window.kept = document.querySelector('#events-body tr'); window.kept.dataset.kept = '1'`, nil)
	register(t, s, "rows-second")
	p.waitJS(eventCIDs+`.join() === 'rows-second,rows-first'`, 10*time.Second)
	var same bool
	p.eval(`window.kept.isConnected && document.querySelectorAll('#events-body tr')[1] === window.kept`, &same)
	assert.True(t, same, "the row on show before the new event is the same element after it")
	var added, removed int
	p.eval(`window.rowsAdded`, &added)
	p.eval(`window.rowsRemoved`, &removed)
	assert.Equal(t, []int{1, 0}, []int{added, removed}, "rows put in and taken out for one new event")

	// Past the feed's 500: each new event's row is put in at most once,
	// and the oldest rows alone go. Events that came and went within one
	// draw (a loaded machine coalesces draws) are never put in, so the
	// bounds are at most, and what stays is exact.
	const more = 520
	p.eval(countFromNow, nil)
	streamed := p.draws("streamed")
	fill(t, s, more, http.StatusCreated, func(i int) (string, string, string) {
		return http.MethodPost, "/v1/bans", fmt.Sprintf(`{"kind": "cid", "value": "rows-ban-%03d"}`, i)
	})
	p.waitJS(fmt.Sprintf(`window.cliserDraws.streamed >= %d && document.querySelectorAll('#events-body tr').length === 500
		&& !window.kept.isConnected && !%s.includes('rows-second')`, streamed+more, eventCIDs), 20*time.Second)
	p.eval(`window.rowsAdded`, &added)
	p.eval(`window.rowsRemoved`, &removed)
	assert.LessOrEqual(t, added, more, "rows put in for %d new events", more)
	assert.LessOrEqual(t, removed, 2+more-500, "rows taken out for %d new events", more)
	assert.Equal(t, 500-2, added-removed, "rows put in less rows taken out: from 2 rows to 500")
	assert.Empty(t, p.Problems())
}

// The Events view's line counts the events the filters show: with a type
// chosen it said how many the feed held, every type's ("4 events" over
// one row).
func TestDashboardEventsCountWhatTheFilterShows(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for _, id := range []string{"count-a", "count-b"} {
		register(t, s, id)
	}
	c := register(t, s, "count-c")
	waitConnected(t, s, "", 3, 10*time.Second)
	_ = c.Conn.Close() // the one client.disconnected of four events
	waitConnected(t, s, "", 2, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/events")
	const info = `document.getElementById('events-info').textContent`
	p.waitJS(live+` && document.querySelectorAll('#events-body tr').length === 4`, 10*time.Second)
	var text string
	p.eval(info, &text)
	assert.Equal(t, "4 events: the log's newest, then live", text, "no filter")

	p.eval(`(() => { const s = document.getElementById('events-type'); s.value = 'client.disconnected'; s.dispatchEvent(new Event('change')); })()`, nil)
	p.waitJS(eventCIDs+`.join() === 'count-c'`, 5*time.Second)
	p.eval(info, &text)
	assert.Equal(t, "1 of 4 events: the log's newest, then live", text, "a type chosen")

	register(t, s, "count-d") // a client.connected: not shown, one more in the feed
	p.waitJS(info+` === "1 of 5 events: the log's newest, then live"`, 5*time.Second)
	assert.Empty(t, p.Problems())
}
