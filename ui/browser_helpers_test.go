package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// chromium is the Debian package's binary, which .ci/run installs.
const chromium = "/usr/bin/chromium"

const password = "ui-test-password"

// needChromium skips a browser test on a machine without chromium, saying
// how to get it.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no %s: the dashboard's browser tests need the Debian chromium package (apt-get install chromium)", chromium)
	}
}

// page is one headless chromium tab, with what went wrong in it collected:
// console errors, uncaught exceptions, failed and 4xx/5xx requests.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
	sent     map[network.RequestID]string // method and URL of each request, for its failure
	done     map[string]bool              // method and URL of each request that finished or failed
}

// newBrowser starts chromium headless (killed when the test ends) and
// opens a tab in it; extra options go after the defaults.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *page {
	t.Helper()
	needChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { closeBrowser(t, ctx); cancel(); cancelAlloc() })
	p := &page{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, p.listen)
	require.NoError(t, chromedp.Run(ctx, network.Enable(), log.Enable(), runtime.Enable()))
	return p
}

// closeBrowser asks chromium to quit and waits until it has and chromedp
// has removed its profile directory. Cancelling alone kills chromium, which
// then leaves its singleton directory in TMPDIR, and the test process may
// exit before chromedp removes the profile: a thousand of each a day.
func closeBrowser(t *testing.T, ctx context.Context) {
	tctx, tcancel := context.WithTimeout(ctx, 15*time.Second)
	defer tcancel()
	if err := chromedp.Cancel(tctx); err != nil {
		t.Errorf("closing chromium: %v", err)
	}
}

func (p *page) listen(ev any) {
	add := func(s string) {
		p.mu.Lock()
		p.problems = append(p.problems, s)
		p.mu.Unlock()
	}
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			add("console." + string(e.Type) + ": " + strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		add("exception: " + e.ExceptionDetails.Text + " " + exceptionText(e.ExceptionDetails))
	case *log.EventEntryAdded:
		if e.Entry.Level == log.LevelError {
			add("log: " + e.Entry.Text + " " + e.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		p.mu.Lock()
		if p.sent == nil {
			p.sent = map[network.RequestID]string{}
		}
		p.sent[e.RequestID] = e.Request.Method + " " + e.Request.URL
		p.mu.Unlock()
	case *network.EventLoadingFinished:
		p.mu.Lock()
		p.settle(p.sent[e.RequestID])
		p.mu.Unlock()
	case *network.EventLoadingFailed:
		p.mu.Lock()
		req := p.sent[e.RequestID]
		p.settle(req)
		p.mu.Unlock()
		// A GET canceled is a stream ended by navigation, not a failure;
		// a command canceled is an answer the page left unread, which
		// DevTools lists as failed (net::ERR_ABORTED).
		if !e.Canceled || !strings.HasPrefix(req, "GET ") {
			add("request failed: " + e.ErrorText + " " + req)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			add(fmt.Sprintf("HTTP %d %s", e.Response.Status, e.Response.URL))
		}
	}
}

// settle notes that req ("METHOD URL") is over; p.mu is held.
func (p *page) settle(req string) {
	if p.done == nil {
		p.done = map[string]bool{}
	}
	p.done[req] = true
}

// waitDone waits until a request of method to a URL ending in suffix has
// finished or failed: an answer the page leaves unread is cancelled (a
// failure) only once the browser lets go of it, after the page moved on.
func (p *page) waitDone(method, suffix string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		found := false
		for req := range p.done {
			found = found || (strings.HasPrefix(req, method+" ") && strings.HasSuffix(req, suffix))
		}
		p.mu.Unlock()
		if found {
			return
		}
		require.False(p.t, time.Now().After(deadline), "no %s …%s finished or failed within %s", method, suffix, d)
		time.Sleep(20 * time.Millisecond)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

// Problems returns what went wrong so far and forgets it.
func (p *page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.problems
	p.problems = nil
	return out
}

func (p *page) run(actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Run(ctx, actions...))
}

// open navigates the page to url and waits for it to load.
func (p *page) open(url string) {
	p.t.Helper()
	p.run(chromedp.Navigate(url))
}

// navigate starts the page's navigation to url and returns without waiting
// for its load event: the caller waits for what it needs (waitJS).
func (p *page) navigate(url string) {
	p.t.Helper()
	p.run(chromedp.ActionFunc(func(ctx context.Context) error {
		_, _, errText, _, err := cdppage.Navigate(url).Do(ctx)
		if err == nil && errText != "" {
			err = fmt.Errorf("navigate to %s: %s", url, errText)
		}
		return err
	}))
}

// blank navigates the page to about:blank and waits until it is there.
func (p *page) blank() {
	p.t.Helper()
	p.navigate("about:blank")
	p.waitJS(`location.href === 'about:blank' && document.readyState === 'complete'`, 10*time.Second)
}

// eval runs a JavaScript expression and decodes its value into out.
func (p *page) eval(expr string, out any) {
	p.t.Helper()
	p.run(chromedp.Evaluate(expr, out))
}

// waitJS polls a JavaScript expression until it is true, up to d, and
// returns how long that took.
func (p *page) waitJS(expr string, d time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	deadline := start.Add(d)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate("!!("+expr+")", &ok))
		cancel()
		if err == nil && ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			var body string
			_ = chromedp.Run(p.ctx, chromedp.Evaluate(`document.getElementById('main')?.innerText.slice(0, 2000)`, &body))
			p.t.Fatalf("after %s still not true: %s (err %v)\npage shows:\n%s", d, expr, err, body)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// screenshot captures the tab into docs/screenshots/<name>.png when
// CLISER_UPDATE_SCREENSHOTS=1 (make screenshots), else into the test's
// temporary directory, so that a plain test run leaves the tree clean.
func (p *page) screenshot(name string) {
	p.t.Helper()
	var buf []byte
	p.run(chromedp.CaptureScreenshot(&buf))
	dir := p.t.TempDir()
	if os.Getenv("CLISER_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs", "screenshots")
		require.NoError(p.t, os.MkdirAll(dir, 0o755))
	}
	require.NoError(p.t, os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644))
	require.Greater(p.t, len(buf), 1000, "an empty screenshot of %s", name)
}

// serve runs `cliser serve` on loopback ports with the dashboard.
func serve(t *testing.T, env []string, args ...string) *testkit.Served {
	t.Helper()
	env = append([]string{"CLISER_PASSWORD=" + password}, env...)
	base := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		// Raw test clients do not echo keep-alives.
		"--keepalive-interval", "1h"}
	return testkit.Serve(t, env, append(base, args...)...)
}

// agent runs `cliser agent --id id` against s until the test ends.
func agent(t *testing.T, s *testkit.Served, id string) {
	t.Helper()
	testkit.Start(t, testkit.Environ(nil, "CLISER_PASSWORD="+password),
		// serve's keep-alives are an hour apart: that is not a silent server.
		"agent", "--server", s.Addr, "--id", id, "--log-level", "warn", "--idle-timeout", "0")
}

// apiGet reads an admin endpoint as JSON into out.
func apiGet(t *testing.T, s *testkit.Served, token, path string, out any) {
	t.Helper()
	var header http.Header
	if token != "" {
		header = http.Header{"Authorization": {"Bearer " + token}}
	}
	status, body := testkit.HTTPDo(t, http.MethodGet, s.AdminURL(t)+path, "", header)
	require.Equal(t, http.StatusOK, status, path)
	require.NoError(t, json.Unmarshal([]byte(body), out))
}

type stats struct {
	Connected int `json:"connected"`
	Records   int `json:"records"`
}

// waitConnected polls the API until n clients are connected.
func waitConnected(t *testing.T, s *testkit.Served, token string, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var st stats
		apiGet(t, s, token, "/v1/stats", &st)
		if st.Connected == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the API says %d connected, want %d", d, st.Connected, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiDo sends one admin request (a JSON body when body is not "") and
// returns the status and body.
func apiDo(t *testing.T, s *testkit.Served, token, method, path, body string) (int, string) {
	t.Helper()
	var header http.Header
	if token != "" {
		header = http.Header{"Authorization": {"Bearer " + token}}
	}
	return testkit.HTTPDo(t, method, s.AdminURL(t)+path, body, header)
}

// register connects a raw client as id and leaves it connected until the
// test ends or the caller closes it.
func register(t *testing.T, s *testkit.Served, id string) *testkit.RawClient {
	t.Helper()
	c := testkit.Dial(t, s.Addr)
	c.Register(password, id)
	return c
}

// waitRecord polls GET /v1/clients/{cid} until its cstatus is connected.
func waitRecord(t *testing.T, s *testkit.Served, cid string, connected bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var rec struct {
			CStatus bool `json:"cstatus"`
		}
		apiGet(t, s, "", "/v1/clients/"+cid, &rec)
		if rec.CStatus == connected {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s %s is not cstatus=%v", d, cid, connected)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// click clicks the first element matching a CSS selector. A table the
// page redraws (a list read again, a live event) can replace the element
// between chromedp finding it and clicking it, which then fails with "Could
// not find node with given id" before any click: it is found again.
func (p *page) click(sel string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	for {
		err := chromedp.Run(ctx, chromedp.Click(sel, chromedp.ByQuery))
		if err == nil || !strings.Contains(err.Error(), "Could not find node") || ctx.Err() != nil {
			require.NoError(p.t, err, "click %s", sel)
			return
		}
	}
}

// confirm waits for the confirmation dialog and presses its OK button.
func (p *page) confirm() {
	p.t.Helper()
	p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
	p.click(`#confirm-ok`)
	p.waitJS(`!document.getElementById('confirm').open`, 5*time.Second)
}

// draws reads window.cliserDraws[view]: how often the view redrew.
func (p *page) draws(view string) int {
	p.t.Helper()
	var n int
	p.eval(`window.cliserDraws.`+view, &n)
	return n
}

// reload reloads the page and waits until the new document is there.
func (p *page) reload() {
	p.t.Helper()
	p.eval(`window.beforeReload = true; location.reload()`, nil)
	p.waitJS(`!window.beforeReload && document.readyState === 'complete'`, 10*time.Second)
}
