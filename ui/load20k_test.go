package ui_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/client"
)

// fleetEnv makes this test binary a load process (TestMain below): it opens
// COUNT sessions named big-OFFSET.. with client.Fleet, closes each beyond
// the first HOLD once it registered (its record stays, disconnected),
// prints "registered N" once all are registered, and holds the rest until
// its stdin closes. The load runs outside the test process because the
// open-files limit (20,000 here) is per process.
const fleetEnv = "CLISER_UI_FLEET"

func TestMain(m *testing.M) {
	if spec := os.Getenv(fleetEnv); spec != "" {
		os.Exit(runFleet(spec))
	}
	os.Exit(m.Run())
}

func runFleet(spec string) int {
	var addr string
	var offset, count, hold int
	if _, err := fmt.Sscanf(spec, "%s %d %d %d", &addr, &offset, &count, &hold); err != nil {
		fmt.Fprintln(os.Stderr, "fleet spec:", err)
		return 2
	}
	var registered atomic.Int64
	f, err := client.NewFleet(client.FleetConfig{Addr: addr, Password: password, Events: client.FleetEvents{
		Registered: func(s *client.Session, _ uint16, _ time.Time) {
			registered.Add(1)
			if s.Index >= hold {
				_ = s.Close()
			}
		},
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		return 1
	}
	defer f.Close()
	for i := range count {
		if _, err := f.Open(context.Background(), i, fmt.Sprintf("big-%05d", offset+i)); err != nil {
			fmt.Fprintln(os.Stderr, "open:", err)
			return 1
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for registered.Load() < int64(count) {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "fleet: %d registered of %d\n", registered.Load(), count)
			return 1
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("registered %d\n", count)
	_, _ = io.Copy(io.Discard, os.Stdin) // hold until the test ends
	return 0
}

// startFleet runs one load process and waits for its sessions.
func startFleet(t *testing.T, addr string, offset, count, hold int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d %d", fleetEnv, addr, offset, count, hold))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "the load process ended before its sessions registered")
	require.Equal(t, "registered "+strconv.Itoa(count), strings.TrimSpace(line))
}

// With 20,000 registered clients (15,000 of them connected: the server's
// open-files limit is 20,000 here, less its reserve), the clients view
// shows its first rows within 1 s of navigation. Two load processes of
// 10,000 sessions each. Set
// CLISER_UI_20K=1 to run it (make ui-20k): registering the fleet takes
// longer than the rest of the browser tests together.
func TestDashboard20000Clients(t *testing.T) {
	if os.Getenv("CLISER_UI_20K") != "1" {
		t.Skip("set CLISER_UI_20K=1 (make ui-20k) to run the 20,000-client dashboard timing")
	}
	needChromium(t)
	s := serve(t, nil, "--max-handshakes-per-ip", "0")
	const per, hold, procs = 10000, 7500, 2
	start := time.Now()
	for i := range procs {
		startFleet(t, s.Addr, i*per, per, hold)
	}
	t.Logf("%d clients registered in %s", per*procs, time.Since(start).Round(time.Millisecond))
	waitConnected(t, s, "", hold*procs, 30*time.Second)
	var st stats
	apiGet(t, s, "", "/v1/stats", &st)
	require.Equal(t, per*procs, st.Records)

	p := newBrowser(t)
	base := "http://" + s.AdminAddr
	p.run(chromedp.Navigate(base + "/ui/#/overview")) // warm: the browser and the files, not the data
	p.waitJS(`document.getElementById('stat-records').textContent === (20000).toLocaleString()`, 10*time.Second)
	p.screenshot("overview-20000")
	var firstRows, inPage []time.Duration
	for range 3 {
		p.run(chromedp.Navigate("about:blank"))
		t0 := time.Now()
		p.run(chromedp.Navigate(base + "/ui/#/clients"))
		p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
		firstRows = append(firstRows, time.Since(t0))
		var timing struct {
			Rows, ListStart, ListEnd float64
		}
		p.eval(`(() => { const e = performance.getEntriesByType('resource').find(e => e.name.includes('/v1/clients?'));
			const m = performance.getEntriesByName('clients-first-rows')[0];
			return {Rows: m ? m.startTime : -1, ListStart: e ? e.startTime : -1, ListEnd: e ? e.responseEnd : -1} })()`, &timing)
		t.Logf("first 100 rows of 20,000 in the page at %.0f ms after navigation start (GET /v1/clients sent at %.0f ms, answered at %.0f ms); %s seen from the Go side through the DevTools protocol",
			timing.Rows, timing.ListStart, timing.ListEnd, firstRows[len(firstRows)-1].Round(time.Millisecond))
		require.Positive(t, timing.Rows, "the page marked its first rows")
		inPage = append(inPage, time.Duration(timing.Rows*float64(time.Millisecond)))
	}
	p.screenshot("clients-20000")
	// The page's own mark is the measure: the Go side adds the DevTools
	// round trips of the polling, which a loaded machine stretches.
	slices.Sort(inPage)
	assert.LessOrEqual(t, inPage[len(inPage)/2], time.Second, "median time to first rows with 20,000 clients: %v", inPage)
	assert.Empty(t, p.Problems())
}
