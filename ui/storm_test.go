package ui_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// storm has workers clients connect, register and drop at once, over and
// over, for d; it returns how many sessions registered. Real TCP to s.
func storm(s *testkit.Served, workers int, d time.Duration) int64 {
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				if stormSession(s.Addr, fmt.Sprintf("storm-%02d-%d", w, i%20)) {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return done.Load()
}

// stormSession registers id and hangs up: true when it got "140 connected".
func stormSession(addr, id string) bool {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("110 " + password + "\n120 " + id + "\n")); err != nil {
		return false
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if strings.HasPrefix(line, "140 ") {
			return true
		}
	}
}

// drawRate reads a view's redraw count and the events the page took in
// since reset, and the page's own time since then.
type drawRate struct {
	Draws, Streamed int
	Seconds         float64
}

func (r drawRate) perSecond() float64 { return float64(r.Draws) / r.Seconds }

const resetDraws = `(() => { for (const k in window.cliserDraws) window.cliserDraws[k] = 0; window.stormStart = performance.now(); return true })()`

func readDraws(p *page, view string) drawRate {
	var r drawRate
	p.eval(fmt.Sprintf(`({Draws: window.cliserDraws[%q], Streamed: window.cliserDraws.streamed, Seconds: (performance.now() - window.stormStart) / 1000})`, view), &r)
	return r
}

// Through a reconnect storm (hundreds of sessions a second registering
// and dropping) the overview redraws at most a few times a second, and
// the clients table changes a client's row in place: the same element
// before and after its status changes.
func TestDashboardStorm(t *testing.T) {
	needChromium(t)
	// The storm reuses 320 client IDs as fast as it can: without
	// --flap-limit 0 the first half bans them all as flapping, and the
	// table's half had no storm at all.
	s := serve(t, nil, "--max-handshakes-per-ip", "0", "--flap-limit", "0")
	watch := testkit.Dial(t, s.Addr)
	watch.Register(password, "a-watch") // sorts before every storm- client: on page 1
	p := newBrowser(t)
	base := "http://" + s.AdminAddr

	p.run(chromedp.Navigate(base + "/ui/#/overview"))
	p.waitJS(`document.getElementById('live').textContent === 'live' && document.getElementById('stat-connected').textContent === '1'`, 10*time.Second)
	p.eval(resetDraws, nil)
	sessions := storm(s, 16, 3*time.Second)
	// The stream may still be delivering: wait until the page has every
	// event (a connect and a disconnect per session) or 10 s, then count.
	p.waitJS(fmt.Sprintf(`window.cliserDraws.streamed >= %d`, 2*sessions), 10*time.Second)
	r := readDraws(p, "overview")
	t.Logf("overview: %d sessions in the storm, %d events streamed to the page, %d redraws in %.1f s (%.1f/s)",
		sessions, r.Streamed, r.Draws, r.Seconds, r.perSecond())
	require.GreaterOrEqual(t, sessions, int64(300), "the storm was not one (too few sessions)")
	assert.Positive(t, r.Draws, "the overview redrew during the storm")
	assert.LessOrEqual(t, r.perSecond(), 5.0, "the overview redraws at most 5 times a second")
	p.waitJS(`document.getElementById('stat-connected').textContent === '1'`, 10*time.Second)

	p.run(chromedp.Navigate(base + "/ui/#/clients"))
	p.waitJS(`document.querySelector('tr[data-cid="a-watch"] .badge.on')`, 10*time.Second)
	p.eval(`window.watchedRow = document.querySelector('tr[data-cid="a-watch"]'); true`, nil)
	p.eval(resetDraws, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	var sessions2 int64
	go func() { defer wg.Done(); sessions2 = storm(s, 16, 3*time.Second) }()
	_ = watch.Conn.Close() // a-watch drops in the middle of the storm
	p.waitJS(`(() => { const r = document.querySelector('tr[data-cid="a-watch"]'); return r === window.watchedRow && r.querySelector('.badge.off') })()`, 10*time.Second)
	again := testkit.Dial(t, s.Addr)
	again.Register(password, "a-watch") // and comes back
	p.waitJS(`(() => { const r = document.querySelector('tr[data-cid="a-watch"]'); return r === window.watchedRow && r.querySelector('.badge.on') })()`, 10*time.Second)
	wg.Wait()
	p.waitJS(fmt.Sprintf(`window.cliserDraws.streamed >= %d`, 2*sessions2+2), 10*time.Second) // and a-watch's two
	r = readDraws(p, "clients")
	t.Logf("clients: %d sessions in the storm, %d events streamed to the page, %d table updates in %.1f s (%.1f/s)",
		sessions2, r.Streamed, r.Draws, r.Seconds, r.perSecond())
	require.GreaterOrEqual(t, sessions2, int64(300), "the storm was not one (too few sessions)")
	assert.LessOrEqual(t, r.perSecond(), 5.0, "the table updates at most 5 times a second")
	var same bool
	p.eval(`document.querySelector('tr[data-cid="a-watch"]') === window.watchedRow`, &same)
	assert.True(t, same, "a-watch's row is the same element after dropping and coming back")
	assert.Empty(t, p.Problems())
}
