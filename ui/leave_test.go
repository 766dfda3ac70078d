package ui_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A tab that leaves the dashboard and comes back, again and again, must
// load it every time, and a page the browser kept in its back/forward cache
// must follow the stream again when it is shown. Each kept page used to
// hold its event stream open: one of the browser's six connections to the
// host each, so the sixth visit waited for a connection that never came.
func TestDashboardLeftAndComeBack(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	agent(t, s, "leave-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	base := "http://" + s.AdminAddr
	p := newBrowser(t)

	const visits = 8 // more than the six connections a host gets
	for range visits {
		p.navigate(base + "/ui/#/clients")
		p.waitJS(live+` && document.querySelector('tr[data-cid="leave-1"]')`, 10*time.Second)
		p.blank()
	}

	// Back through history, twice: the second time the page is the one the
	// first left (a mark in its JavaScript kept), restored from the
	// back/forward cache, and it follows the stream again.
	back := func() {
		// After this evaluation answers: a navigation that starts first ends
		// the evaluation with "Inspected target navigated" (seen under load).
		p.eval(`setTimeout(() => history.back(), 0)`, nil)
		p.waitJS(`location.pathname === '/ui/' && `+live, 10*time.Second)
	}
	back()
	p.eval(`window.leaveTestMark = true`, nil)
	p.blank()
	back()
	var kept bool
	p.eval(`!!window.leaveTestMark`, &kept)
	assert.True(t, kept, "the page came back from the back/forward cache (its JavaScript state kept)")
	agent(t, s, "leave-late")
	p.waitJS(`document.querySelector('tr[data-cid="leave-late"] .badge.on')`, 10*time.Second)
	assert.Empty(t, p.Problems(), "console errors or failed requests")
}

const live = `document.getElementById('live')?.textContent === 'live'`
