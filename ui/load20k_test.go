package ui_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// With 20,000 registered clients from the load engine (15,000 of them
// connected: the server's open-files limit is 20,000 here, less its
// reserve; 5,000 registered, then disconnected), the clients view shows
// its first rows within 1 s of navigation: the median of nine loads, as
// the page marks it (clients-first-rows, from navigation start). The
// server and the browser run ahead of the machine's other work (favoured).
func TestDashboard20000Clients(t *testing.T) {
	needChromium(t)
	if load, over := overloaded(); over && os.Getenv("CLISER_UI_20K") != "1" {
		t.Skipf("not timing a page on a machine this busy: load average %.1f on %d cores (more than %d runnable per core); run make ui-20k (CLISER_UI_20K=1) to time it anyway",
			load, runtime.NumCPU(), maxLoadPerCore)
	}
	s := testkit.ServeWrapped(t, favoured(), []string{"CLISER_PASSWORD=" + password}, "--listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--keepalive-interval", "1h", "--max-handshakes-per-ip", "0")
	const live, gone = 15000, 5000
	testkit.BenchBinary(t) // built before the clock starts
	start := time.Now()
	g := startLoadWorker(t)
	g.fleet(loadConfig{Addr: s.Addr, Password: password, IDPrefix: "gone-",
		SourceIPs: []string{"127.31.0.1", "127.31.0.2"}}, gone)
	g.close()
	startLoadWorker(t).fleet(loadConfig{Addr: s.Addr, Password: password, IDPrefix: "big-",
		SourceIPs: []string{"127.31.1.1", "127.31.1.2", "127.31.1.3"}}, live)
	waitConnected(t, s, "", live, 30*time.Second)
	var st stats
	apiGet(t, s, "", "/v1/stats", &st)
	require.Equal(t, live+gone, st.Records)
	t.Logf("%d records (%d connected) registered by the load engine in %s", st.Records, st.Connected, time.Since(start).Round(time.Millisecond))

	p := newBrowser(t, favouredChromium(t))
	base := "http://" + s.AdminAddr
	p.open(base + "/ui/#/overview") // warm: the browser and the files, not the data
	p.waitJS(`document.getElementById('stat-records').textContent === (20000).toLocaleString()`, 10*time.Second)
	p.screenshot("overview-20000")
	// The median of nine loads must be at most 1 s; the loop stops as soon
	// as five are (then the median is, whatever the rest would show), so a
	// quiet machine does five loads and a busy one up to nine.
	const loads, within = 9, 5
	var inPage []time.Duration
	for fast := 0; len(inPage) < loads && fast < within; {
		// Neither load is waited for by chromedp's load event (p.open):
		// the page's own state is polled instead. (The 30 s hangs once
		// seen here came on a sixth load, which only a busy machine asks
		// for: each earlier page, kept in the back/forward cache, held its
		// event stream's connection; api.js lets go of it on pagehide,
		// TestDashboardLeftAndComeBack.)
		p.blank()
		t0 := time.Now()
		p.navigate(base + "/ui/#/clients")
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
		seen := time.Since(t0)
		var timing struct {
			Rows, List, ListStart, ListEnd, Script float64
		}
		p.eval(`(() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('/v1/clients?'));
			const js = performance.getEntriesByType('resource').filter(e => e.name.endsWith('.js')).map(e => e.responseEnd);
			const m = performance.getEntriesByName('clients-first-rows')[0];
			const l = performance.getEntriesByName('clients-first-list')[0];
			return {Rows: m ? m.startTime : -1, List: l ? l.startTime : -1, Script: js.length ? Math.max(...js) : -1,
				ListStart: e ? e.startTime : -1, ListEnd: e ? e.responseEnd : -1} })()`, &timing)
		t.Logf("first 100 rows of 20,000 in the page at %.0f ms after navigation start (the page's last module loaded at %.0f ms, GET /v1/clients sent at %.0f ms, answered at %.0f ms, decoded at %.0f ms); %s seen from the Go side through the DevTools protocol",
			timing.Rows, timing.Script, timing.ListStart, timing.ListEnd, timing.List, seen.Round(time.Millisecond))
		require.Positive(t, timing.Rows, "the page marked its first rows")
		inPage = append(inPage, time.Duration(timing.Rows*float64(time.Millisecond)))
		if inPage[len(inPage)-1] <= time.Second {
			fast++
		}
	}
	p.screenshot("clients-20000")
	// The page's own mark is the measure: the Go side adds the DevTools
	// round trips of the polling, which a loaded machine stretches.
	load, _ := os.ReadFile("/proc/loadavg")
	fast := slices.DeleteFunc(slices.Clone(inPage), func(d time.Duration) bool { return d > time.Second })
	slices.Sort(inPage)
	t.Logf("time to first rows, sorted: %v (%d of %d within 1 s); load average %s", inPage, len(fast), len(inPage), strings.TrimSpace(string(load)))
	assert.GreaterOrEqual(t, len(fast), within, "the median of %d loads must be at most 1 s: %v (load average %s)", loads, inPage, strings.TrimSpace(string(load)))
	assert.Empty(t, p.Problems())
}

// favoured is the command prefix that runs a timed process ahead of the
// machine's other work: a session of its own (setsid), so that with the
// kernel's autogroup scheduling it gets a group's fair share instead of a
// thread's share of this test's group, and nice -n -10 when this user may
// (root, as in CI and here). The timing is the page's and the server's,
// not the neighbours': on the shared 2-core development machine other
// engineers' builds and benchmarks keep the load average at 20 and more.
func favoured() []string {
	if os.Geteuid() != 0 {
		return []string{"setsid"}
	}
	return []string{"setsid", "nice", "-n", "-10"}
}

// favouredChromium is chromium run through favoured(): a script that
// execs it, since chromedp takes one path. Every process and thread
// chromium starts inherits the priority.
func favouredChromium(t *testing.T) chromedp.ExecAllocatorOption {
	t.Helper()
	pre := favoured()
	path := filepath.Join(t.TempDir(), "chromium")
	script := "#!/bin/sh\nexec " + strings.Join(pre, " ") + " " + chromium + " \"$@\"\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return chromedp.ExecPath(path)
}

// maxLoadPerCore is the busiest machine the 20,000-client timing runs on
// by itself. Measured on the shared 2-core development machine at load
// averages of 17 to 26: medians of 625, 735, 835 and 899 ms, and twice a
// failure (a median of 1.24 s; a navigation that did not finish in 30 s);
// at 28 to 45 the browser's own steps (its script starting, its one
// request leaving) took seconds whatever the page does. Below 6 per core
// the page has the CPU it needs to be judged.
const maxLoadPerCore = 6

// overloaded reads the 1-minute load average and says whether it is over
// maxLoadPerCore per core.
func overloaded() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	var load float64
	if _, err := fmt.Sscanf(string(b), "%f", &load); err != nil {
		return 0, false
	}
	return load, load > float64(maxLoadPerCore*runtime.NumCPU())
}
