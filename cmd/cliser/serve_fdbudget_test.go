package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// fdLimit is the open-files limit the descriptor tests run cliser under:
// with the default reserve (256) and admin cap (256) it leaves 688
// protocol connections.
const fdLimit = 1200

// prlimitOrSkip is the command that runs cliser under fdLimit.
func prlimitOrSkip(t *testing.T) []string {
	t.Helper()
	return []string{prlimitPath(t), fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit)}
}

// prlimitPath is prlimit's path; it skips t without it.
func prlimitPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not installed: the open-files limit tests need it")
	}
	return path
}

// --max-connections that does not fit the open-files limit, less the
// reserve and the admin cap, is refused at start with exit 2 and both
// numbers; unset, it is derived from the limit.
func TestBinaryMaxConnectionsCheckedAgainstOpenFilesLimit(t *testing.T) {
	wrap := prlimitOrSkip(t)
	for _, n := range []string{"5000", "944"} { // 944: what the old reserve allowed
		cmd := exec.Command(wrap[0], append(wrap[1:], testkit.Binary(t), "serve", "--listen", "127.0.0.1:0",
			"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--max-connections", n)...)
		cmd.Env = append(os.Environ(), "CLISER_PASSWORD=fd-pw")
		out, err := cmd.CombinedOutput()
		assert.Equal(t, 2, testkit.ExitCode(err), string(out))
		assert.Contains(t, string(out), "--max-connections "+n)
		assert.Contains(t, string(out), "open-files limit "+strconv.Itoa(fdLimit))
		assert.Contains(t, string(out), "at most 688")
	}
	// A limit below the reserve, or just at it (512: 256 fixed and 256 for
	// the admin cap), leaves no room whatever --max-connections says: the
	// message names the reserve to lower, not "at most 0".
	for _, limit := range []string{"300", "512"} {
		cmd := exec.Command(wrap[0], "--nofile="+limit+":"+limit, testkit.Binary(t), "serve", "--listen", "127.0.0.1:0",
			"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--max-connections", "10")
		cmd.Env = append(os.Environ(), "CLISER_PASSWORD=fd-pw")
		out, err := cmd.CombinedOutput()
		assert.Equal(t, 2, testkit.ExitCode(err), string(out))
		assert.Contains(t, string(out), "the open-files limit "+limit+" leaves no descriptor for clients")
		assert.Contains(t, string(out), "raise the limit (ulimit -n, systemd LimitNOFILE=) above 512, or lower --admin-max-connections to ")
		assert.NotContains(t, string(out), "at most 0")
	}
	// With the admin API on, the figure is the whole reserve: "above 256"
	// under a limit of 256, and 257 failed again (ops audit).
	cmd := exec.Command(wrap[0], "--nofile=256:256", testkit.Binary(t), "serve", "--listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "CLISER_PASSWORD=fd-pw")
	out, err := cmd.CombinedOutput()
	assert.Equal(t, 2, testkit.ExitCode(err), string(out))
	assert.Contains(t, string(out), "raise the limit (ulimit -n, systemd LimitNOFILE=) above 512, or above 256 with a lower --admin-max-connections")
	// The figure the message gives for the admin cap works: one client.
	for limit, most := range map[string]string{"300": "43", "512": "255"} {
		p := testkit.ServeWrapped(t, []string{wrap[0], "--nofile=" + limit + ":" + limit}, []string{"CLISER_PASSWORD=fd-pw"},
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--admin-max-connections", most)
		assert.Contains(t, p.LogText(), `"open_files_limit":`+limit+`,"max_connections":1,`, limit)
	}
	// At or below the fixed reserve lowering the admin cap cannot help:
	// the message says only what can (an audit followed it in vain).
	for _, limit := range []string{"200", "256"} {
		cmd := exec.Command(wrap[0], "--nofile="+limit+":"+limit, testkit.Binary(t), "serve", "--listen", "127.0.0.1:0",
			"--admin-listen", "off", "--data-dir", t.TempDir())
		cmd.Env = append(os.Environ(), "CLISER_PASSWORD=fd-pw")
		out, err := cmd.CombinedOutput()
		assert.Equal(t, 2, testkit.ExitCode(err), string(out))
		assert.Contains(t, string(out), "raise the limit (ulimit -n, systemd LimitNOFILE=) above 256: the 256 kept for listeners, store and logs alone do not fit")
		assert.NotContains(t, string(out), "lower --admin-max-connections")
	}
	p := testkit.ServeWrapped(t, wrap, []string{"CLISER_PASSWORD=fd-pw"}, "--listen", "127.0.0.1:0",
		"--admin-listen", "off", "--data-dir", t.TempDir())
	assert.Contains(t, p.LogText(), `"open_files_limit":1200,"max_connections":944,"reserved":256`,
		"with the admin API off its cap is not reserved")
	// The most that fits is taken, not refused.
	p = testkit.ServeWrapped(t, wrap, []string{"CLISER_PASSWORD=fd-pw"}, "--listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--max-connections", "688")
	assert.Contains(t, p.LogText(), `"open_files_limit":1200,"max_connections":688,"reserved":512`)
}

// The descriptor-exhaustion attack of issue 16: under an open-files limit
// of 1200, ~1,300 idle HTTP connections to the admin listener (no token
// needed) and a flood of protocol connects beyond --max-connections. On
// the old build the admin connections took every descriptor, gnet's
// acceptor hit EMFILE and stopped the engine: every client got EOF, the
// port refused connections, /healthz still said 200. Now the admin
// listener is capped, the ceiling sits below the limit, the surplus gets
// "190 server full", and the healthy clients echo keep-alives throughout.
func TestBinarySurvivesDescriptorExhaustion(t *testing.T) {
	p := serveUnderLimit(t)
	base := "http://" + p.AdminAddr

	const healthy = 20
	echoers := startEchoers(t, p.Addr, healthy, "healthy")

	// ~1,300 idle HTTP connections: each asks /healthz once with
	// keep-alive and then holds its connection. Past the admin cap they
	// wait in the kernel's queue, costing cliser nothing, until each
	// takes the slot of one idle for a second (never more than the cap).
	idle := dialMany(t, p.AdminAddr, 1300, func(c net.Conn) error {
		_, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
		return err
	})
	t.Cleanup(func() { closeAll(idle) })

	// Protocol connects well past the ceiling (688 less the healthy 20):
	// each reads its first line, the prompt or the refusal.
	var prompted, full atomic.Int64
	extra := dialMany(t, p.Addr, 1000, func(c net.Conn) error {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case err != nil:
			return fmt.Errorf("first line: %w (read %q)", err, line)
		case line == "110 password\n":
			prompted.Add(1)
		case line == "190 server full\n":
			full.Add(1)
		default:
			return fmt.Errorf("first line %q", line)
		}
		return nil
	})
	t.Logf("protocol flood: %d prompted, %d told 190 server full", prompted.Load(), full.Load())
	// The ceiling is the open-files limit less 512. A refusal still being
	// closed on one loop may count for a moment against an accept on the
	// other, so a few more than the surplus may be refused, never fewer.
	assert.LessOrEqual(t, prompted.Load(), int64(688-healthy), "the ceiling is the open-files limit less 512")
	assert.GreaterOrEqual(t, prompted.Load(), int64(688-healthy-32), "the ceiling is the open-files limit less 512")
	assert.GreaterOrEqual(t, full.Load(), int64(1000-688+healthy))

	// The healthy clients never stopped: more keep-alives after the flood.
	waitEchoes(t, echoers, 5)
	for _, e := range echoers {
		require.NoError(t, e.failure(), "a healthy client was dropped")
	}

	// The engine still accepts: with the flood gone a new client registers
	// (the port never refused, as it did once gnet's acceptor died).
	closeAll(extra)
	closeAll(idle)
	registerWhenRoom(t, p.Addr, "late-client")
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "/healthz never answered once the idle peers left")

	p.WaitLog(t, waitFor, "admin listener full") // the full admin listener is logged
	logs := p.LogText()
	// Once per filling: the flood, and perhaps once more when the peers
	// it queued are accepted after they left; never once per connection.
	assert.LessOrEqual(t, strings.Count(logs, "admin listener full"), 3, "once per filling, not per connection")
	assert.NotContains(t, logs, "too many open files")
	assert.NotContains(t, logs, "Accept() failed")
	p.Terminate(t)
	for _, e := range echoers {
		assert.Equal(t, "190 server shutting down", e.last(t), "healthy clients are drained with a 190")
	}
	assert.Equal(t, 0, p.Wait(t), p.LogText())
}

// TestBinaryWebhookDeliversAtTheDescriptorCeiling: under an open-files
// limit of 1200, with the admin listener and the protocol connections at
// their caps, the deliverer still dials its receiver (which closes every
// connection, so each batch dials anew) and every event arrives, signed and
// in order: the descriptor reserve covers the webhook's own socket.
func TestBinaryWebhookDeliversAtTheDescriptorCeiling(t *testing.T) {
	wrap := prlimitOrSkip(t)
	rc := newHookReceiver(t, 0)
	rc.srv.Config.SetKeepAlivesEnabled(false)
	p := testkit.ServeWrapped(t, wrap, []string{"CLISER_PASSWORD=fd-pw", "CLISER_WEBHOOK_SECRET=" + whSecret},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--keepalive-interval", "200ms", "--keepalive-timeout", "10s", "--handshake-timeout", "2m",
		"--max-handshakes-per-ip", "0", "--webhook-url", rc.srv.URL+"/hook", "--webhook-linger", "20ms")

	const healthy = 20
	echoers := startEchoers(t, p.Addr, healthy, "healthy")
	delivered := func(n int) func() bool {
		return func() bool { _, _, evs := rc.snapshot(); return len(evs) >= n }
	}
	require.Eventually(t, delivered(healthy), 30*time.Second, 20*time.Millisecond, "the connects delivered")

	fillToTheCeiling(t, p)

	// At the ceiling: the healthy clients leave, and their disconnects go
	// out on new connections to the receiver.
	for _, e := range echoers {
		_ = e.c.Conn.Close()
	}
	require.Eventually(t, delivered(2*healthy), 60*time.Second, 20*time.Millisecond, "the disconnects delivered at the ceiling")
	requests, bad, evs := rc.snapshot()
	require.Zero(t, bad, "every request verified")
	assert.GreaterOrEqual(t, requests, 2, "connects and disconnects went in separate requests, each on its own connection")
	for i, e := range evs {
		require.EqualValues(t, i+1, e.Seq, "every event once, in log order")
	}
	assert.NotContains(t, p.LogText(), "too many open files")
}

// A connect flood that reads nothing: 256 connectors open (and drop)
// 15,000 connections as fast as the kernel completes them, under the limit
// of 1200. With gnet's shared acceptor the loops fell a thousand accepts
// behind, the process reached EMFILE and the engine died; with a listener
// per loop each accept is opened, or refused, before the next, so the
// reserve bounds what is in flight. The healthy clients echo throughout.
func TestBinarySurvivesConnectFlood(t *testing.T) {
	p := serveUnderLimit(t)
	echoers := startEchoers(t, p.Addr, 10, "flood-healthy")

	// Each connector closes what it opened at once: the server still
	// accepts every one, and this process holds no more than 256.
	var failed, next atomic.Int64
	var wg sync.WaitGroup
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= 15000 {
				c, err := net.DialTimeout("tcp", p.Addr, 10*time.Second)
				if err != nil {
					if failed.Add(1) == 1 {
						t.Logf("first failed connect: %v", err)
					}
					continue
				}
				_ = c.Close()
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failed.Load(), "connects failed: the port died")

	waitEchoes(t, echoers, 5)
	for _, e := range echoers {
		require.NoError(t, e.failure(), "a healthy client was dropped")
	}
	select {
	case <-p.Exited:
		t.Fatalf("serve exited: %v\n%s", p.ExitErr, p.LogText())
	default:
	}
	registerWhenRoom(t, p.Addr, "after-flood")
	assert.NotContains(t, p.LogText(), "too many open files")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// fillToTheCeiling holds 1300 idle admin connections and 1000 protocol
// connections open on p (under the limit of 1200) until t ends, and
// checks that the protocol listener answered some "190 server full".
func fillToTheCeiling(t *testing.T, p *testkit.Served) {
	t.Helper()
	idle := dialMany(t, p.AdminAddr, 1300, func(c net.Conn) error {
		_, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
		return err
	})
	t.Cleanup(func() { closeAll(idle) })
	var full atomic.Int64
	extra := dialMany(t, p.Addr, 1000, func(c net.Conn) error {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if line == "190 server full\n" {
			full.Add(1)
		} else if err != nil || line != "110 password\n" {
			return fmt.Errorf("first line %q: %v", line, err)
		}
		return nil
	})
	t.Cleanup(func() { closeAll(extra) })
	require.Positive(t, full.Load(), "the protocol connections reached their ceiling")
}

// serveUnderLimit runs serve under prlimit's open-files limit, with fast
// keep-alives, a long handshake timeout and no per-IP handshake limit:
// the flood tests' server.
func serveUnderLimit(t *testing.T) *testkit.Served {
	t.Helper()
	return testkit.ServeWrapped(t, prlimitOrSkip(t), []string{"CLISER_PASSWORD=fd-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--keepalive-interval", "200ms", "--keepalive-timeout", "10s", "--handshake-timeout", "2m",
		"--max-handshakes-per-ip", "0")
}

// startEchoers registers n healthy clients (prefix-00, prefix-01, ...)
// that answer every keep-alive, and waits for two echoes of each.
func startEchoers(t *testing.T, addr string, n int, prefix string) []*echoer {
	t.Helper()
	echoers := make([]*echoer, n)
	for i := range echoers {
		c := testkit.Dial(t, addr)
		c.Timeout = 20 * time.Second
		c.Register("fd-pw", fmt.Sprintf("%s-%02d", prefix, i))
		echoers[i] = startEchoer(c)
	}
	waitEchoes(t, echoers, 2)
	return echoers
}

// registerWhenRoom registers cid, retrying while closed connections of
// the flood still count against the ceiling.
func registerWhenRoom(t *testing.T, addr, cid string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err, "the protocol port refused a connection")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Write([]byte("110 fd-pw\n120 " + cid + "\n"))
		require.NoError(t, err)
		r := bufio.NewReader(c)
		first, err := r.ReadString('\n')
		require.NoError(t, err)
		if first == "110 password\n" {
			_, _ = r.ReadString('\n') // 120 id
			line, err := r.ReadString('\n')
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(line, "140 connected "), line)
			c.Close()
			return
		}
		c.Close()
		require.Equal(t, "190 server full\n", first)
		require.True(t, time.Now().Before(deadline), "no room for a new client after the flood left")
		time.Sleep(20 * time.Millisecond)
	}
}

// dialMany opens n connections to addr from 16 goroutines, runs each
// through first, and returns them open. Any dial or first error fails the
// test: a refused connect is what a dead engine looks like.
func dialMany(t *testing.T, addr string, n int, first func(net.Conn) error) []net.Conn {
	t.Helper()
	var mu sync.Mutex
	var conns []net.Conn
	var errs []error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err == nil {
					mu.Lock()
					conns = append(conns, c)
					mu.Unlock()
					err = first(c)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		closeAll(conns)
		t.Fatalf("%d of %d connections to %s failed; first: %v", len(errs), n, addr, errs[0])
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// echoer answers keep-alives on a registered connection in the
// background and remembers the first line or error that was not one.
type echoer struct {
	c      *testkit.RawClient
	echoes atomic.Int64
	mu     sync.Mutex
	err    error
	other  chan string
}

func startEchoer(c *testkit.RawClient) *echoer {
	e := &echoer{c: c, other: make(chan string, 1)}
	go func() {
		for {
			_ = c.Conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, err := c.R.ReadString('\n')
			if err != nil {
				e.fail(err)
				return
			}
			if strings.HasPrefix(line, "100 ") {
				if _, err := c.Conn.Write([]byte(line)); err != nil {
					e.fail(err)
					return
				}
				e.echoes.Add(1)
				continue
			}
			e.fail(fmt.Errorf("unexpected line %q", line))
			e.other <- strings.TrimSuffix(line, "\n")
			return
		}
	}()
	return e
}

func (e *echoer) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
	}
}

func (e *echoer) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// ended waits up to within for the line that ended the echo loop, else
// says the error that ended it; "" while it still runs.
func (e *echoer) ended(within time.Duration) string {
	select {
	case l := <-e.other:
		return l
	case <-time.After(within):
		if err := e.failure(); err != nil {
			return err.Error()
		}
		return ""
	}
}

// last waits for the line that ended the echo loop.
func (e *echoer) last(t *testing.T) string {
	t.Helper()
	select {
	case l := <-e.other:
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("no final line; echo loop ended with %v", e.failure())
		return ""
	}
}

// waitEchoes waits until every echoer has answered more keep-alives than
// now, plus n, failing at once if one was dropped.
func waitEchoes(t *testing.T, echoers []*echoer, n int64) {
	t.Helper()
	want := make([]int64, len(echoers))
	for i, e := range echoers {
		want[i] = e.echoes.Load() + n
	}
	deadline := time.Now().Add(60 * time.Second)
	for i, e := range echoers {
		for e.echoes.Load() < want[i] {
			if err := e.failure(); err != nil {
				t.Fatalf("healthy client %d dropped: %v", i, err)
			}
			require.True(t, time.Now().Before(deadline), "healthy client %d stopped getting keep-alives", i)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// If the protocol engine stops anyway (here: the open-files limit is cut
// under the running process to what it holds, so gnet's next accept
// fails with EMFILE), the process says so and exits non-zero, so that a
// supervisor restarts it, instead of living on with a dead port.
func TestBinaryExitsWhenTheEngineDies(t *testing.T) {
	path := prlimitPath(t)
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=fd-pw"}, "--listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	// Clients on both loops (the kernel spreads connections over the
	// loops' listeners): the one whose accept fails closes its own before
	// the engine's OnShutdown, and its clients were recorded "closed by
	// client" while the other loop's said "server restarted".
	const clients = 16
	for i := range clients {
		c := testkit.Dial(t, p.Addr)
		c.Register("fd-pw", fmt.Sprintf("before-death-%d", i))
	}

	pid := strconv.Itoa(p.Cmd.Process.Pid)
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	require.NoError(t, err)
	lim := strconv.Itoa(len(fds))
	out, err := exec.Command(path, "--pid", pid, "--nofile="+lim+":"+lim).CombinedOutput()
	require.NoError(t, err, string(out))

	// Connect until gnet's acceptor fails (the first connect normally
	// does; the runtime may have freed a descriptor or two).
	deadline := time.Now().Add(20 * time.Second)
	for alive := true; alive; {
		if conn, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
			defer conn.Close()
		}
		select {
		case <-p.Exited:
			alive = false
		case <-time.After(50 * time.Millisecond):
			require.True(t, time.Now().Before(deadline), "the engine never died:\n%s", p.LogText())
		}
	}
	assert.Equal(t, 1, testkit.ExitCode(p.ExitErr), p.LogText())
	logs := p.LogText()
	assert.Contains(t, logs, "too many open files", "gnet's own reason is in the log")
	assert.Contains(t, logs, "protocol engine stopped")
	assert.Contains(t, logs, "supervisor restarts cliser")
	ended := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"client disconnected"`) && strings.Contains(line, `"cid":"before-death-`) {
			ended++
			assert.Contains(t, line, `"reason":"server restarted"`, "every client the dead engine dropped")
		}
	}
	assert.Equal(t, clients, ended, logs)
}

// An open-files limit lowered under the running server (prlimit --pid)
// was not seen: the accept past it failed EMFILE and stopped the whole
// engine, every client with it (signals audit). The ceiling now follows
// the limit less the reserve: here none is left for new clients, so each
// gets `190 server full` from a descriptor the reserve keeps, the engine
// lives, and the clients it has stay. Raised again, the ceiling is back.
func TestBinaryCeilingFollowsALimitLoweredUnderIt(t *testing.T) {
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=fd-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--admin-max-connections", "2", "--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	const clients = 16
	held := make([]*testkit.RawClient, clients)
	for i := range held {
		held[i] = testkit.Dial(t, p.Addr)
		held[i].Register("fd-pw", fmt.Sprintf("held-%d", i))
	}
	limit := liveLimitOf(t, p)
	lim := len(limit.fds()) + 20 // 20 free: fewer than the clients that come next
	limit.set(lim)
	p.WaitLog(t, 10*time.Second, "open-files limit lowered under the running server", fmt.Sprintf(`"open_files_limit":%d,"max_connections":0,`, lim))
	code, body := testkit.HTTPGet(t, p.AdminURL(t)+"/readyz") // before any client is refused: the ceiling is under what is open
	assert.Contains(t, body, "the connection ceiling (0, the open-files limit, lowered under the running server, less its reserve; --max-connections ", code)

	for range 60 { // each kept open by this side until the server closes it
		testkit.Dial(t, p.Addr).ExpectClosed("190 server full")
	}
	select {
	case <-p.Exited:
		t.Fatalf("the engine died at the lowered limit:\n%s", p.LogText())
	default:
	}
	code, body = testkit.HTTPGet(t, p.AdminURL(t)+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "the connection ceiling (0, the open-files limit, lowered under the running server, less its reserve; --max-connections ")
	ceiling, ok := testkit.Metric(p.AdminURL(t), "cliser_connections_max")
	assert.True(t, ok)
	assert.Zero(t, ceiling, "the gauge is the ceiling in force")
	for i, c := range held { // nothing comes, not even the close
		assert.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(100*time.Millisecond)), i)
		_, err := c.R.ReadByte()
		var ne net.Error
		assert.True(t, errors.As(err, &ne) && ne.Timeout(), "held-%d is still connected: %v", i, err)
	}

	limit.restore()
	p.WaitLog(t, 10*time.Second, "open-files limit allows the configured connection ceiling again")
	p.WaitLog(t, 10*time.Second, "connection ceiling has room again") // with no close since
	code, body = testkit.HTTPGet(t, p.AdminURL(t)+"/readyz")
	assert.NotContains(t, body, "connection ceiling", code)
	testkit.Dial(t, p.Addr).Register("fd-pw", "after-raise")
}

// The admin listener's accepts that fail for want of descriptors were
// logged by net/http at INFO once a second, counted nowhere, and /readyz
// said ready while probes went unanswered (signals audit). Now: one WARN,
// a counter, and an "admin" note that outlasts the run by a minute.
func TestBinaryAdminAcceptFailuresAreNotedAndCounted(t *testing.T) {
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=fd-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	limit := liveLimitOf(t, p)
	limit.set(len(limit.fds()) + 8)

	var held []net.Conn
	for range 30 { // the kernel queues what the listener can not take
		c, err := net.Dial("tcp", p.AdminAddr)
		require.NoError(t, err)
		held = append(held, c)
	}
	p.WaitLog(t, 10*time.Second, "admin listener cannot accept connections", "too many open files")
	for _, c := range held {
		_ = c.Close()
	}
	limit.restore()

	code, body := testkit.HTTPGet(t, p.AdminURL(t)+"/readyz") // the listener retries within 1 s
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"admin":"admin listener: accepts failed from `)
	n, ok := testkit.Metric(p.AdminURL(t), "cliser_admin_accept_errors_total")
	assert.True(t, ok)
	assert.Positive(t, n)
	p.WaitLog(t, 10*time.Second, "admin listener accepts connections again")
	logs := p.LogText()
	assert.Equal(t, 1, strings.Count(logs, "admin listener cannot accept connections"), logs)
	assert.NotContains(t, logs, "http: Accept error", "net/http's retry line, once a second")
}

// Idle keep-alives hold the admin listener's descriptors when the
// open-files limit is lowered to what is open: a failed accept closes the
// one that has waited longest for a request, as a full listener does, and
// the probe is answered. Before, it waited in the kernel's queue for the
// idle connections' 2-minute timeout (code audit).
func TestBinaryAdminAcceptFailureClosesAnIdleConnection(t *testing.T) {
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=fd-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	for range 12 { // each asks once, then stays, idle
		c, err := net.Dial("tcp", p.AdminAddr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: cliser\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp.Body.Close()
	}
	limit := liveLimitOf(t, p)
	limit.set(lowestFree(limit.fds()))
	t.Cleanup(limit.restore)
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(p.AdminURL(t) + "/readyz")
	require.NoError(t, err, "the probe waited behind idle connections")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = hc.Get(p.AdminURL(t) + "/metrics")
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^cliser_admin_connections_evicted_total [1-9]`, string(page))
	assert.Regexp(t, `(?m)^cliser_admin_accept_errors_total [1-9]`, string(page))
}

// liveLimit lowers and raises the open-files soft limit of a running
// cliser (prlimit --pid); the hard one stays, as raising it needs
// privilege.
type liveLimit struct {
	t               *testing.T
	path, pid, hard string
}

// liveLimitOf is p's; it skips t without prlimit.
func liveLimitOf(t *testing.T, p *testkit.Served) *liveLimit {
	t.Helper()
	path := prlimitPath(t)
	var hard syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard))
	return &liveLimit{t: t, path: path, pid: strconv.Itoa(p.Cmd.Process.Pid), hard: strconv.FormatUint(hard.Max, 10)}
}

// fds are the process's open descriptors.
func (l *liveLimit) fds() []os.DirEntry {
	fds, err := os.ReadDir("/proc/" + l.pid + "/fd")
	require.NoError(l.t, err)
	return fds
}

// set makes the soft limit soft.
func (l *liveLimit) set(soft int) { l.prlimit(strconv.Itoa(soft)) }

// restore sets the soft limit back to the hard one.
func (l *liveLimit) restore() { l.prlimit(l.hard) }

func (l *liveLimit) prlimit(soft string) {
	out, err := exec.Command(l.path, "--pid", l.pid, "--nofile="+soft+":"+l.hard).CombinedOutput()
	require.NoError(l.t, err, string(out))
}

// lowestFree is the lowest descriptor number not among fds: a limit of
// it lets the process open none (the limit bounds the numbers).
func lowestFree(fds []os.DirEntry) int {
	open := map[string]bool{}
	for _, f := range fds {
		open[f.Name()] = true
	}
	n := 0
	for open[strconv.Itoa(n)] {
		n++
	}
	return n
}
