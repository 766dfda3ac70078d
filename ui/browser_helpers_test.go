package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// chromium is the Debian package's binary, which .ci/run installs.
const chromium = "/usr/bin/chromium"

const password = "ui-test-password"

// The browser window's size, unless a test gives its own.
const (
	windowWidth  = 1280
	windowHeight = 860
)

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

// newBrowser opens a tab for the test in a browser context of its own
// (cookies, storage and cache apart from every other test's), closed when
// the test ends. Without extra options the tab is in the package's shared
// chromium: a start costs ~2 s of CPU, and ~50 tests each started one.
// Extra options (flags, a window size) go after the defaults, in a
// chromium of the test's own.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *page {
	t.Helper()
	needChromium(t)
	var ctx context.Context
	if len(extra) > 0 {
		ctx = ownBrowser(t, extra)
	} else {
		ctx = sharedTab(t)
	}
	p := &page{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, p.listen)
	require.NoError(t, chromedp.Run(ctx, network.Enable(), log.Enable(), runtime.Enable()))
	return p
}

// browserOptions are a chromium's flags: its profile in dir, which
// removeProfile removes.
func browserOptions(dir string, extra []chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	return append(opts, extra...)
}

// ownBrowser starts a chromium for the test alone, closed when it ends,
// and returns its first tab.
func ownBrowser(t *testing.T, extra []chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	dir, err := os.MkdirTemp("", profilePattern)
	require.NoError(t, err)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserOptions(dir, extra)...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		if err := closeBrowser(ctx); err != nil {
			t.Errorf("closing chromium: %v", err)
		}
		cancel()
		cancelAlloc()
		if err := removeProfile(dir); err != nil {
			t.Error(err)
		}
	})
	return ctx
}

// shared is the package's chromium, started by the first test that asks
// and closed by TestMain; a chromium that died is started again.
var shared struct {
	mu          sync.Mutex
	ctx         context.Context // its first tab, kept open
	cancel      context.CancelFunc
	cancelAlloc context.CancelFunc
	profile     string
}

func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx != nil && shared.ctx.Err() == nil {
		return shared.ctx
	}
	if shared.ctx != nil { // died: chromedp cancelled its context; release the rest
		shared.cancel()
		shared.cancelAlloc()
		require.NoError(t, removeProfile(shared.profile))
	}
	dir, err := os.MkdirTemp("", profilePattern)
	require.NoError(t, err)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserOptions(dir, nil)...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		_ = removeProfile(dir)
		t.Fatalf("starting chromium: %v", err)
	}
	shared.ctx, shared.cancel, shared.cancelAlloc, shared.profile = ctx, cancel, cancelAlloc, dir
	return ctx
}

// sharedTab opens a window in a new browser context of the shared
// chromium and returns its tab; both go when the test ends. The window is
// made here, not by chromedp.WithNewBrowserContext: headless chromium
// opens a tab in a context without a window only with newWindow ("no
// browser is open").
func sharedTab(t *testing.T) context.Context {
	t.Helper()
	browser := sharedBrowser(t)
	exec := cdp.WithExecutor(browser, chromedp.FromContext(browser).Browser)
	id, err := target.CreateBrowserContext().Do(exec)
	require.NoError(t, err, "a browser context in the shared chromium")
	t.Cleanup(func() {
		if browser.Err() != nil {
			return // the chromium died, and its contexts with it
		}
		if err := target.DisposeBrowserContext(id).Do(exec); err != nil {
			t.Errorf("closing the test's browser context: %v", err)
		}
	})
	tab, err := target.CreateTarget("about:blank").WithBrowserContextID(id).
		WithNewWindow(true).WithWidth(windowWidth).WithHeight(windowHeight).Do(exec)
	require.NoError(t, err, "a window in the shared chromium")
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(tab))
	t.Cleanup(cancel)
	return ctx
}

// closeSharedBrowser closes the shared chromium, if one was started.
func closeSharedBrowser() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx == nil {
		return nil
	}
	err := closeBrowser(shared.ctx)
	shared.cancel()
	shared.cancelAlloc()
	shared.ctx = nil
	return errors.Join(err, removeProfile(shared.profile))
}

// profilePattern names the chromium profiles the tests make in TMPDIR.
const profilePattern = "cliser-ui-chromium-"

// removeProfile removes a chromium's profile once no process of that
// chromium is left. chromedp removed its own profile as the browser's
// main process ended, and chromium's network service, still ending,
// wrote "Network Persistent State" into it again: a clone's make test at
// load 9 left it in TMPDIR, which fails CI.
func removeProfile(dir string) error {
	deadline := time.Now().Add(15 * time.Second)
	for usesProfile(dir) {
		if time.Now().After(deadline) {
			return fmt.Errorf("chromium processes still use the profile %s after 15 s", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return os.RemoveAll(dir)
}

// usesProfile reports whether a process's command line names the
// profile dir: chromium's children (zygote, network, renderers) have it.
func usesProfile(dir string) bool {
	arg := []byte("--user-data-dir=" + dir + "\x00")
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline")); err == nil && bytes.Contains(b, arg) {
			return true
		}
	}
	return false
}

// closeBrowser asks chromium to quit and waits until its main process
// has. Cancelling alone kills chromium, which then leaves its singleton
// directory in TMPDIR: a thousand a day. Its profile is removeProfile's.
func closeBrowser(ctx context.Context) error {
	tctx, tcancel := context.WithTimeout(ctx, 15*time.Second)
	defer tcancel()
	return chromedp.Cancel(tctx)
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
