package ui_test

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With 20,000 registered clients from the load engine (15,000 of them
// connected: the server's open-files limit is 20,000 here, less its
// reserve; 5,000 registered, then disconnected), the clients view shows
// its first rows within 1 s of navigation: the median of five loads, as
// the page marks it (clients-first-rows, from navigation start).
func TestDashboard20000Clients(t *testing.T) {
	needChromium(t)
	s := serve(t, nil, "--max-handshakes-per-ip", "0")
	const live, gone = 15000, 5000
	benchBinary(t) // built before the clock starts
	start := time.Now()
	g := startLoadWorker(t)
	g.fleet(loadConfig{Addr: s.Addr, Password: password, IDPrefix: "gone-"}, gone)
	g.close()
	startLoadWorker(t).fleet(loadConfig{Addr: s.Addr, Password: password, IDPrefix: "big-"}, live)
	waitConnected(t, s, "", live, 30*time.Second)
	var st stats
	apiGet(t, s, "", "/v1/stats", &st)
	require.Equal(t, live+gone, st.Records)
	t.Logf("%d records (%d connected) registered by the load engine in %s", st.Records, st.Connected, time.Since(start).Round(time.Millisecond))

	p := newBrowser(t)
	base := "http://" + s.AdminAddr
	p.run(chromedp.Navigate(base + "/ui/#/overview")) // warm: the browser and the files, not the data
	p.waitJS(`document.getElementById('stat-records').textContent === (20000).toLocaleString()`, 10*time.Second)
	p.screenshot("overview-20000")
	var inPage []time.Duration
	for range 5 {
		p.run(chromedp.Navigate("about:blank"))
		t0 := time.Now()
		p.run(chromedp.Navigate(base + "/ui/#/clients"))
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
		seen := time.Since(t0)
		var timing struct {
			Rows, ListStart, ListEnd float64
		}
		p.eval(`(() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('/v1/clients?'));
			const m = performance.getEntriesByName('clients-first-rows')[0];
			return {Rows: m ? m.startTime : -1, ListStart: e ? e.startTime : -1, ListEnd: e ? e.responseEnd : -1} })()`, &timing)
		t.Logf("first 100 rows of 20,000 in the page at %.0f ms after navigation start (GET /v1/clients sent at %.0f ms, answered at %.0f ms); %s seen from the Go side through the DevTools protocol",
			timing.Rows, timing.ListStart, timing.ListEnd, seen.Round(time.Millisecond))
		require.Positive(t, timing.Rows, "the page marked its first rows")
		inPage = append(inPage, time.Duration(timing.Rows*float64(time.Millisecond)))
	}
	p.screenshot("clients-20000")
	// The page's own mark is the measure: the Go side adds the DevTools
	// round trips of the polling, which a loaded machine stretches. The
	// median of five, so one load slowed by a neighbour does not decide.
	slices.Sort(inPage)
	t.Logf("time to first rows, sorted: %v; median %v", inPage, inPage[len(inPage)/2])
	assert.LessOrEqual(t, inPage[len(inPage)/2], time.Second, "median time to first rows with 20,000 clients: %v", inPage)
	assert.Empty(t, p.Problems())
}
