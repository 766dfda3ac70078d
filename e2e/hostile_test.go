package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
)

// The hostile-input suite: one real server, a healthy fleet connected to it
// for the whole run, and every kind of bad input we could think of thrown
// at it from other connections. Each case states the exact lines the
// server must answer (docs/protocol.md) and that it closes.
// At the end, no healthy client may have noticed anything.

const (
	hostileHandshakeTimeout = 2 * time.Second
	hostileKeepInterval     = 50 * time.Millisecond
	hostileKeepTimeout      = 3 * time.Second
	hostileAuthFailLimit    = 5
)

// hostileCase is one connection's worth of bad input.
type hostileCase struct {
	name string
	// registered: register first (cid "hostile-<n>"), then send. The
	// keep-alives the server sends meanwhile are left out of the transcript.
	registered bool
	// send is written chunk by chunk, pace apart.
	send []string
	pace time.Duration
	// script, when set, replaces send: it drives the connection itself
	// (after the registration, if any) and the transcript starts after it.
	script func(t *testing.T, c *rawConn)
	// want is every line the server must send, in order, before it closes.
	// A want ending in "*" matches any line with that prefix.
	want []string
	// within bounds the wait for the close.
	within time.Duration
}

var (
	pw     = testPassword
	okPass = "110 " + pw + "\n"
	// the two prompts of a handshake that got past the password
	prompts = []string{"110 password", "120 id"}
)

func withPrompts(last ...string) []string { return append(append([]string{}, prompts...), last...) }

func only110(last string) []string { return []string{"110 password", last} }

// noise is deterministic binary junk: seed picks it, withLF keeps or strips
// newlines, and the first byte is never a digit (so it cannot start a code).
func noise(seed uint64, n int, withLF bool) string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
		if !withLF && b[i] == '\n' {
			b[i] = 0xff
		}
	}
	b[0] = 0xfe
	if withLF {
		b[n/2] = '\n'
	}
	return string(b)
}

func tenThousandLines(line string) string { return strings.Repeat(line, 10000) }

var errLine = testkit.CloseLine(protocol.ReasonProtocolError)

func hostileCases() []hostileCase {
	tooLong := testkit.CloseLine(protocol.ReasonLineTooLong)
	authFailed := testkit.CloseLine(protocol.ReasonAuthFailed)
	badID := testkit.CloseLine(protocol.ReasonBadID)
	hsTimeout := testkit.CloseLine(protocol.ReasonHandshakeTimeout)
	return []hostileCase{
		// Framing: the 512-byte line limit, LF included.
		{name: "line of 600 bytes", send: []string{"110 " + strings.Repeat("a", 595) + "\n"}, want: only110(tooLong)},
		{name: "line of 513 bytes with LF", send: []string{"110 " + strings.Repeat("a", 508) + "\n"}, want: only110(tooLong)},
		{name: "line of exactly 512 bytes is a line (password too long)", send: []string{"110 " + strings.Repeat("a", 507) + "\n"}, want: only110(authFailed)},
		{name: "512 bytes without LF", send: []string{"110 " + strings.Repeat("a", 508)}, want: only110(tooLong)},
		{name: "511 bytes without LF, then silence", send: []string{"110 " + strings.Repeat("a", 507)}, want: only110(hsTimeout)},
		{name: "64 KiB without LF in one write", send: []string{"110 " + strings.Repeat("a", 64<<10)}, want: only110(tooLong)},
		// PROTOCOL.md: 512 bytes without an LF are too long, junk or not;
		// the same junk refused as it comes when less has arrived (below).
		{name: "64 KiB of letters without LF in one write", send: []string{strings.Repeat("a", 64<<10)}, want: only110(tooLong)},
		{name: "letters without LF, a few at a time", send: chunks(strings.Repeat("a", 64), 8), pace: 0, want: only110(errLine)},
		{name: "overlong id line after a good password", send: []string{okPass + "120 " + strings.Repeat("i", 600) + "\n"}, want: withPrompts(tooLong)},
		{name: "overlong line in 1-byte writes", send: chunks("110 "+strings.Repeat("a", 520), 1), pace: 0, want: only110(tooLong)},

		// NUL, CR and binary noise.
		{name: "NUL in the password", send: []string{"110 e2e\x00pw\n"}, want: only110(errLine)},
		{name: "a line of one NUL", send: []string{"\x00\n"}, want: only110(errLine)},
		{name: "NUL in the id", send: []string{okPass + "120 ab\x00cd\n"}, want: withPrompts(errLine)},
		{name: "NUL in the code", send: []string{"1\x000 " + pw + "\n"}, want: only110(errLine)},
		{name: "binary noise with newlines", send: []string{noise(1, 2048, true)}, want: only110(errLine)},
		{name: "binary noise without newline, 4 KiB", send: []string{noise(2, 4096, false)}, want: only110(tooLong)},    // 512 bytes without an LF
		{name: "binary noise without newline, 100 bytes", send: []string{noise(2, 100, false)}, want: only110(errLine)}, // refused as it comes
		{name: "NUL before any LF", send: []string{"110 e2e\x00"}, want: only110(errLine)},
		{name: "bare CR between the answers", send: []string{"110 " + pw + "\r120 dev-1\n"}, want: only110(errLine)},
		{name: "CR CR LF", send: []string{"110 " + pw + "\r\r\n"}, want: only110(errLine)},
		{name: "a line of only CRLF", send: []string{"\r\n"}, want: only110(errLine)},
		{name: "CRLF answers are fine, the id is not", send: []string{"110 " + pw + "\r\n120 has space\r\n"}, want: withPrompts(badID)},

		// The id field.
		{name: "invalid UTF-8 id", send: []string{okPass + "120 \xff\xfe\xfd\n"}, want: withPrompts(badID)},
		{name: "overlong UTF-8 encoding in the id", send: []string{okPass + "120 a\xc0\xafb\n"}, want: withPrompts(badID)},
		{name: "valid UTF-8 but not ASCII id", send: []string{okPass + "120 caf\xc3\xa9\n"}, want: withPrompts(badID)},
		{name: "id of 65 characters", send: []string{okPass + "120 " + strings.Repeat("x", 65) + "\n"}, want: withPrompts(badID)},
		{name: "id with a slash", send: []string{okPass + "120 ../../etc/passwd\n"}, want: withPrompts(badID)},
		{name: "empty id after the space", send: []string{okPass + "120 \n"}, want: withPrompts(badID)}, // an ID of no characters
		{name: "bare 120", send: []string{okPass + "120\n"}, want: withPrompts(errLine)},

		// Wrong codes and lines out of place before registration.
		{name: "id before the password", send: []string{"120 dev-1\n"}, want: only110(errLine)},
		{name: "unknown code 999", send: []string{"999 hello\n"}, want: only110(errLine)},
		{name: "keep-alive echo before registration", send: []string{"100 1\n"}, want: only110(errLine)},
		{name: "130 ok before registration", send: []string{"130 ok\n"}, want: only110(errLine)},
		{name: "client sends 140", send: []string{"140 connected 1\n"}, want: only110(errLine)},
		{name: "client sends 190", send: []string{"190 bye\n"}, want: only110(errLine)},
		{name: "two-digit code", send: []string{"11 " + pw + "\n"}, want: only110(errLine)},
		{name: "four-digit code", send: []string{"1100 " + pw + "\n"}, want: only110(errLine)},
		{name: "letters for a code", send: []string{"abc\n"}, want: only110(errLine)},
		{name: "empty line", send: []string{"\n"}, want: only110(errLine)},
		{name: "bare 110", send: []string{"110\n"}, want: only110(errLine)},
		{name: "110 and a space only", send: []string{"110 \n"}, want: only110(authFailed)}, // a password of no bytes
		{name: "password twice", send: []string{okPass + okPass}, want: withPrompts(errLine)},
		{name: "a well-formed HTTP request", send: []string{"GET / HTTP/1.1\r\nHost: x\r\n\r\n"}, want: only110(errLine)},
		// A TLS client on the plain port: no LF in its hello, but no line
		// starts with 0x16, so it is refused at once; it waited for the
		// handshake's timeout (found by the wire audit).
		{name: "a TLS ClientHello", send: []string{"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + noise(3, 160, false)}, want: only110(errLine)},

		// The password.
		{name: "wrong password", send: []string{"110 wrong\n"}, want: only110(authFailed)},
		{name: "password with a leading space", send: []string{"110  " + pw + "\n"}, want: only110(authFailed)},
		{name: "password of 257 bytes", send: []string{"110 " + strings.Repeat("p", 257) + "\n"}, want: only110(authFailed)},
		{name: "a prefix of the password", send: []string{"110 " + pw[:len(pw)-1] + "\n"}, want: only110(authFailed)},
		{name: "the password and more", send: []string{"110 " + pw + "x\n"}, want: only110(authFailed)},

		// Bytes after a 190 are dropped.
		{name: "20 KiB after auth failed in the same write", send: []string{"110 wrong\n" + strings.Repeat("120 x\n100 1\n", 1700)}, want: only110(authFailed)},
		{name: "more lines after 190, in later writes", send: []string{"110 wrong\n", "120 late\n", okPass, "130 ok\n"}, pace: 100 * time.Millisecond, want: only110(authFailed)},

		// Timing: silence and slowloris.
		{name: "silence", want: only110(hsTimeout)},
		{name: "slowloris: one byte every 50ms, no line ever ends", send: chunks("110 "+strings.Repeat("z", 96), 1), pace: 50 * time.Millisecond, want: only110(hsTimeout)},
		{name: "slowloris: good password, then the id one byte every 50ms", send: append([]string{okPass}, chunks("120 slowloris-"+strings.Repeat("s", 46)+"\n", 1)...), pace: 50 * time.Millisecond, want: withPrompts(hsTimeout)},
		{name: "dribble: one byte per write, bad id", send: chunks(okPass+"120 \xffbad\n", 1), pace: time.Millisecond, want: withPrompts(badID)},
		{name: "split at every byte", script: splitAtEveryByte, want: nil},

		// After registration.
		{name: "token 0, never issued", registered: true, send: []string{"100 0\n"}, want: []string{errLine}},
		{name: "keep-alive echo without token", registered: true, send: []string{"100\n"}, want: []string{errLine}},
		{name: "130 ok with no 130 pending", registered: true, send: []string{"130 ok\n"}, want: []string{errLine}},
		{name: "130 ok twice with no 130 pending, and more", registered: true, send: []string{"130 ok\n130 ok\n" + strings.Repeat("junk\n", 100)}, want: []string{errLine}},
		{name: "the password again after registration", registered: true, send: []string{okPass}, want: []string{errLine}},
		{name: "the id again after registration", registered: true, send: []string{"120 again\n"}, want: []string{errLine}},
		{name: "client sends 130 shutdown", registered: true, send: []string{"130 shutdown\n"}, want: []string{errLine}},
		{name: "10k keep-alive echoes in one write", registered: true, send: []string{tenThousandLines("100 1\n")}, want: []string{errLine}},
		{name: "10k lines of garbage in one write", registered: true, send: []string{tenThousandLines("xyz\n")}, want: []string{errLine}},
		{name: "overlong line after registration", registered: true, send: []string{strings.Repeat("1", 1000)}, want: []string{tooLong}},
		{name: "NUL after registration", registered: true, send: []string{"100 \x00\n"}, want: []string{errLine}},
		{name: "binary noise after registration", registered: true, send: []string{noise(4, 1024, true)}, want: []string{errLine}},
		{name: "stale token", registered: true, script: staleToken, want: []string{errLine}},
		{name: "duplicate echo", registered: true, script: duplicateEcho, want: []string{errLine}},
		{name: "non-canonical token (leading zero)", registered: true, script: echoAs(func(tok string) string { return "0" + tok }), want: []string{errLine}},
		{name: "token with a plus sign", registered: true, script: echoAs(func(tok string) string { return "+" + tok }), want: []string{errLine}},
		{name: "token plus one", registered: true, script: echoAs(func(tok string) string { return tok + "1" }), want: []string{errLine}},
		{name: "10k echoes of the right token in one write", registered: true, script: echoAs(func(tok string) string {
			return tok + "\n" + strings.TrimSuffix(tenThousandLines("100 "+tok+"\n"), "\n")
		}), want: []string{errLine}},
		{name: "keep-alive never echoed", registered: true, within: hostileKeepTimeout + 5*time.Second, want: []string{testkit.CloseLine(protocol.ReasonKeepaliveTimeout)}},
	}
}

// chunks cuts s into pieces of n bytes.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// splitAtEveryByte sends the same bad handshake cut in two at every byte,
// one connection per cut: the answer must never depend on where TCP
// splits the stream.
func splitAtEveryByte(t *testing.T, c *rawConn) {
	const wire = "110 " + testPassword + "\r\n120 bad id!\n"
	addr := c.Conn.RemoteAddr().String()
	srcIP := c.Conn.LocalAddr().(*net.TCPAddr).IP.String()
	var wg sync.WaitGroup
	for cut := 1; cut < len(wire); cut++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(fmt.Sprintf("cut-%02d", cut), func(t *testing.T) {
				sc := dialFrom(t, addr, srcIP)
				require.NoError(t, sc.send(wire[:cut]))
				time.Sleep(5 * time.Millisecond) // a pause, so the two halves are two segments
				_ = sc.send(wire[cut:])
				assert.Equal(t, withPrompts(testkit.CloseLine(protocol.ReasonBadID)), sc.transcript(5*time.Second))
			})
		}()
	}
	wg.Wait()
	// The case's own connection: a clean, complete handshake cut at every
	// byte is fine.
	for i := range len(okPass) {
		require.NoError(t, c.send(okPass[i:i+1]))
	}
	c.Expect("110 password")
	c.Expect("120 id")
	require.NoError(t, c.send("120 split-ok\n"[:5]))
	require.NoError(t, c.send("120 split-ok\n"[5:]))
	line, err := c.readLine(5 * time.Second)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "140 connected "), line)
	require.NoError(t, c.send("130 ok\n"))
	assert.Equal(t, []string{errLine}, dropKeepAlives(c.transcript(5*time.Second)))
}

func staleToken(t *testing.T, c *rawConn) {
	first := c.nextKeepAlive()
	c.mustSend("100 " + first + "\n")
	second := c.nextKeepAlive()
	require.NotEqual(t, first, second)
	c.mustSend("100 " + first + "\n")
}

func duplicateEcho(t *testing.T, c *rawConn) {
	tok := c.nextKeepAlive()
	c.mustSend("100 " + tok + "\n100 " + tok + "\n")
}

func echoAs(mangle func(tok string) string) func(*testing.T, *rawConn) {
	return func(t *testing.T, c *rawConn) {
		c.mustSend("100 " + mangle(c.nextKeepAlive()) + "\n")
	}
}

func dropKeepAlives(lines []string) []string {
	out := lines[:0:0]
	for _, l := range lines {
		if tok, ok := strings.CutPrefix(l, "100 "); ok {
			if _, err := protocol.ParseToken([]byte(tok)); err == nil {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

func matchLines(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i, w := range want {
		if p, ok := strings.CutSuffix(w, "*"); ok {
			if !strings.HasPrefix(got[i], p) {
				return false
			}
		} else if w != got[i] {
			return false
		}
	}
	return true
}

// caseIP gives case n a loopback address of its own, so that the per-IP
// limits (auth-failure ban, handshake cap) of one case never touch another.
func caseIP(n int) string { return fmt.Sprintf("127.1.%d.%d", n/250, n%250+1) }

func runHostileCase(t *testing.T, s *server, n int, tc hostileCase) {
	c := dialFrom(t, s.Addr(), caseIP(n))
	cid := fmt.Sprintf("hostile-%d", n)
	if tc.registered {
		c.handshake(cid)
	}
	within := tc.within
	if within == 0 {
		within = hostileHandshakeTimeout + 5*time.Second
	}
	// Read while sending: the server may close (and reset) while bytes
	// are still going out, and what it said before must not be lost.
	got := make(chan []string, 1)
	start := func() { go func() { got <- c.transcript(within) }() }
	if tc.script != nil {
		tc.script(t, c)
		if tc.want == nil {
			return // the script checked everything itself
		}
		start()
	} else {
		start()
		for i, chunk := range tc.send {
			if i > 0 && tc.pace > 0 {
				time.Sleep(tc.pace)
			}
			if c.send(chunk) != nil {
				break // closed under us: that is the server's right
			}
		}
	}
	lines := <-got
	if tc.registered {
		lines = dropKeepAlives(lines)
	}
	require.True(t, matchLines(tc.want, lines), "want %q\n got %q", tc.want, lines)
	if tc.registered {
		want, _ := protocol.ParseReason(strings.TrimPrefix(tc.want[len(tc.want)-1], "190 "))
		require.Eventually(t, func() bool {
			rec, ok := s.Registry().Get(cid)
			return ok && !rec.CStatus && rec.Reason == want
		}, 5*time.Second, 5*time.Millisecond, "registry must record %s with reason %q", cid, want)
	}
}

// hostileStats is what the suite counts, for docs/security.md.
type hostileStats struct {
	mu          sync.Mutex
	cases       int
	connections int
}

func (h *hostileStats) add(cases, conns int) {
	h.mu.Lock()
	h.cases += cases
	h.connections += conns
	h.mu.Unlock()
}

func TestHostileInput(t *testing.T) {
	s := startServer(t,
		reactor.WithKeepAlive(hostileKeepInterval, hostileKeepTimeout),
		reactor.WithHandshakeTimeout(hostileHandshakeTimeout),
		reactor.WithAuthFailLimit(hostileAuthFailLimit, time.Minute),
	)
	const fleetSize = 20
	healthy := startFleet(t, s, fleetSize, "healthy")
	sidsBefore := healthy.sids()
	began := time.Now()
	var stats hostileStats

	t.Run("cases", func(t *testing.T) {
		cases := hostileCases()
		require.GreaterOrEqual(t, len(cases), 30)
		var wg sync.WaitGroup
		for n, tc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(tc.name, func(t *testing.T) { runHostileCase(t, s, n, tc) })
			}()
		}
		wg.Wait()
		stats.add(len(cases), len(cases)+len("110 "+testPassword+"\r\n120 bad id!\n")-1)
	})

	t.Run("too many auth failures", func(t *testing.T) {
		const ip = "127.4.0.1"
		for range hostileAuthFailLimit {
			c := dialFrom(t, s.Addr(), ip)
			c.mustSend("110 not-it\n")
			require.Equal(t, only110(testkit.CloseLine(protocol.ReasonAuthFailed)), c.transcript(5*time.Second))
		}
		// Banned: refused before the prompt, even with the right password.
		for _, wire := range []string{"110 not-it\n", okPass + "120 banned-1\n", ""} {
			c := dialFrom(t, s.Addr(), ip)
			_ = c.send(wire)
			require.Equal(t, []string{testkit.CloseLine(protocol.ReasonTooManyAttempts)}, c.transcript(5*time.Second))
		}
		_, ok := s.Registry().Get("banned-1")
		assert.False(t, ok, "a banned IP registered a client")
		stats.add(2, hostileAuthFailLimit+3)
	})

	t.Run("half-open connections", func(t *testing.T) {
		n := halfOpen(t, s)
		stats.add(2, n)
	})

	t.Run("connect-and-close storms", func(t *testing.T) {
		n := storms(t, s)
		stats.add(3, n)
	})

	// Nothing may be left behind: connections, handshake slots, records.
	require.Eventually(t, func() bool {
		connected, _ := s.Registry().Counts()
		return s.Reactor().Connections() == fleetSize && connected == fleetSize
	}, 10*time.Second, 10*time.Millisecond, "connections or registrations leaked")

	// Every handshake slot was given back: a full cap of handshakes from
	// the busiest addresses still fits.
	slotIPs := []string{"127.2.0.1", "127.3.0.1", "127.3.1.1", "127.3.2.1", caseIP(0)}
	assertHandshakeSlotsFree(t, s, slotIPs...)
	stats.add(1, len(slotIPs)*reactor.DefaultMaxPendingPerIP)
	require.Eventually(t, func() bool { return s.Reactor().Connections() == fleetSize }, 10*time.Second, 10*time.Millisecond)

	healthy.assertIntact(t, sidsBefore, time.Now().Add(-time.Second))
	freshHandshake(t, s.Addr(), "after-the-storm")
	s.assertNoSecretInLogs(t, testPassword)
	t.Logf("hostile suite: %d cases, %d hostile connections, %d healthy clients lost, over %v",
		stats.cases, stats.connections, healthy.lostCount(), time.Since(began).Round(time.Millisecond))
}

// halfOpen opens 2000 connections that never speak, spread over loopback
// addresses because of the per-IP handshake cap, and checks that every one
// is told "handshake timeout" no earlier than the timeout; one address is
// filled to exactly the cap, and one more connection from it is refused
// with "server full".
func halfOpen(t *testing.T, s *server) int {
	const total = 2000
	capIP := "127.2.0.1"
	others := []string{"127.2.0.2", "127.2.0.3", "127.2.0.4"}
	type result struct {
		lines   []string
		elapsed time.Duration
		err     error
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []result
		prompt  sync.WaitGroup
	)
	open := func(ip string, waitPrompt bool) {
		// Timed from before the dial: the server's clock starts at accept,
		// which may come before this goroutine sees its dial return.
		began := time.Now()
		c, err := tryDialFrom(s.Addr(), ip)
		if err != nil {
			mu.Lock()
			results = append(results, result{err: err})
			mu.Unlock()
			return
		}
		t.Cleanup(func() { _ = c.Close() })
		if waitPrompt {
			prompt.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lines []string
			var rerr error
			buf := make([]byte, 0, 64)
			_ = c.SetReadDeadline(time.Now().Add(hostileHandshakeTimeout + 20*time.Second))
			tmp := make([]byte, 64)
			signalled := !waitPrompt
			for {
				n, err := c.Read(tmp)
				buf = append(buf, tmp[:n]...)
				if !signalled && bytes.HasPrefix(buf, []byte("110 password\n")) {
					signalled = true
					prompt.Done()
				}
				if err != nil {
					if !closedByPeer(err) {
						rerr = err
					}
					break
				}
			}
			if !signalled {
				prompt.Done()
			}
			lines = append(lines, strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")...)
			mu.Lock()
			results = append(results, result{lines: lines, elapsed: time.Since(began), err: rerr})
			mu.Unlock()
		}()
	}
	for range reactor.DefaultMaxPendingPerIP {
		open(capIP, true)
	}
	// Every connection of capIP is in its handshake now (it got its
	// prompt, and the timeout is seconds away): one more is over the cap.
	prompt.Wait()
	over := dialFrom(t, s.Addr(), capIP)
	assert.Equal(t, []string{testkit.CloseLine(protocol.ReasonServerFull)}, over.transcript(5*time.Second))
	for i := range total - reactor.DefaultMaxPendingPerIP {
		open(others[i%len(others)], false)
	}
	wg.Wait()

	require.Len(t, results, total)
	want := only110(testkit.CloseLine(protocol.ReasonHandshakeTimeout))
	bad := 0
	for _, r := range results {
		if r.err != nil || !matchLines(want, r.lines) || r.elapsed < hostileHandshakeTimeout-50*time.Millisecond {
			if bad < 5 {
				t.Errorf("half-open connection: err %v, lines %q after %v", r.err, r.lines, r.elapsed)
			}
			bad++
		}
	}
	require.Zero(t, bad, "of %d half-open connections", total)
	return total + 1
}

// storms connects and disconnects in bursts: bare connect+close (half of
// them with a reset), connect+half a line+close, and a full pipelined
// handshake closed without reading. The server must account for every one.
func storms(t *testing.T, s *server) int {
	const (
		bare     = 3000
		partial  = 1000
		complete = 300
		workers  = 8
	)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	before := s.Reactor().Connections()
	run := func(n int, ipBase string, fn func(i int, ip string) error) {
		jobs := make(chan int)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ip := fmt.Sprintf("%s.%d", ipBase, w+1)
				for i := range jobs {
					if err := fn(i, ip); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}()
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	run(bare, "127.3.0", func(i int, ip string) error {
		c, err := tryDialFrom(s.Addr(), ip)
		if err != nil {
			return err
		}
		if i%2 == 0 {
			_ = c.SetLinger(0) // close with a reset
		}
		return c.Close()
	})
	run(partial, "127.3.1", func(i int, ip string) error {
		c, err := tryDialFrom(s.Addr(), ip)
		if err != nil {
			return err
		}
		_, _ = c.Write([]byte("110 " + pw[:i%len(pw)]))
		return c.Close()
	})
	run(complete, "127.3.2", func(i int, ip string) error {
		c, err := tryDialFrom(s.Addr(), ip)
		if err != nil {
			return err
		}
		_, _ = c.Write([]byte(okPass + fmt.Sprintf("120 storm-%d\n", i)))
		if i%2 == 0 {
			_ = c.SetLinger(0)
		}
		return c.Close()
	})
	require.Empty(t, errs, "dialling during the storms")
	// Whatever got registered was closed by the client. The server may
	// still be reading the last storms (a record not yet made is no proof):
	// wait until it has closed every storm connection, so none can
	// register after the look.
	require.Eventually(t, func() bool {
		if s.Reactor().Connections() > before {
			return false
		}
		for i := range complete {
			if rec, ok := s.Registry().Get(fmt.Sprintf("storm-%d", i)); ok && rec.CStatus {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "a storm client stayed registered after its connection closed")
	registered := 0
	for i := range complete {
		if rec, ok := s.Registry().Get(fmt.Sprintf("storm-%d", i)); ok {
			registered++
			assert.Equal(t, protocol.ReasonClosedByClient, rec.Reason)
		}
	}
	t.Logf("storms: %d bare, %d partial, %d complete (%d of them registered before the close was seen)", bare, partial, complete, registered)
	return bare + partial + complete
}

// assertHandshakeSlotsFree opens the per-IP cap's worth of connections from
// each ip at once: every one must get the password prompt, none "server
// full". A slot not given back by some earlier close would show here.
func assertHandshakeSlotsFree(t *testing.T, s *server, ips ...string) {
	t.Helper()
	for _, ip := range ips {
		conns := make([]*rawConn, 0, reactor.DefaultMaxPendingPerIP)
		for range reactor.DefaultMaxPendingPerIP {
			conns = append(conns, dialFrom(t, s.Addr(), ip))
		}
		for i, c := range conns {
			line, err := c.readLine(5 * time.Second)
			require.NoError(t, err, "%s connection %d", ip, i)
			require.Equal(t, "110 password", line, "%s connection %d: a handshake slot leaked", ip, i)
		}
		for _, c := range conns {
			_ = c.Conn.Close()
		}
	}
}

// PROXY protocol garbage with --proxy-protocol on. The client package does
// not speak PROXY (HAProxy does, see haproxy_test.go), so the healthy
// clients here are raw ones that send a valid v2 header and echo every
// keep-alive from a goroutine of their own.

// echoer is a healthy raw client behind a (pretend) proxy.
type echoer struct {
	id   string
	c    *rawConn
	done chan struct{}
	bad  testkit.List[string] // anything but a keep-alive, or the error that ended it
}

func startEchoer(t *testing.T, addr, id, clientIP string) *echoer {
	t.Helper()
	c := dialFrom(t, addr, "")
	c.mustSend(testkit.ProxyHeader(t, 2, clientIP, 40000))
	c.handshake(id)
	e := &echoer{id: id, c: c, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for {
			line, err := c.readLine(time.Minute)
			if err != nil {
				e.bad.Add(err.Error())
				return
			}
			if !strings.HasPrefix(line, "100 ") {
				e.bad.Add(line)
				return
			}
			if err := c.send(line + "\n"); err != nil {
				e.bad.Add(err.Error())
				return
			}
		}
	}()
	t.Cleanup(func() { _ = c.Conn.Close(); <-e.done })
	return e
}

func TestHostileProxyHeaders(t *testing.T) {
	s := startServer(t,
		reactor.WithProxyProtocol(true),
		reactor.WithKeepAlive(hostileKeepInterval, hostileKeepTimeout),
		reactor.WithHandshakeTimeout(hostileHandshakeTimeout),
		reactor.WithAuthFailLimit(2, time.Minute),
	)
	const healthyCount = 5
	var healthy []*echoer
	for i := range healthyCount {
		healthy = append(healthy, startEchoer(t, s.Addr(), fmt.Sprintf("proxied-healthy-%d", i), fmt.Sprintf("203.0.113.%d", i+1)))
	}
	sids := map[string]uint16{}
	for _, e := range healthy {
		rec, ok := s.Registry().Get(e.id)
		require.True(t, ok)
		sids[e.id] = rec.SID
	}
	began := time.Now()

	v1 := testkit.ProxyHeader(t, 1, "198.51.100.20", 1234)
	v2 := testkit.ProxyHeader(t, 2, "198.51.100.21", 1234)
	sig2 := "\r\n\r\n\x00\r\nQUIT\n"
	errLine := testkit.CloseLine(protocol.ReasonProtocolError)
	want := []string{errLine} // with PROXY on, the prompt waits for a whole header (IDENTITY.md)
	cases := []struct {
		name string
		send string
		want []string
	}{
		{"no header, plain answers", okPass + "120 no-header\n", want},
		{"v1 garbage", "PROXY NONSENSE\r\n", want},
		{"v1 without CRLF, overlong", "PROXY TCP4 " + strings.Repeat("1", 120), want},
		{"v1 with LF only, then answers", "PROXY TCP4 1.2.3.4 5.6.7.8 1000 7070\n" + okPass + "120 lf-only\n" + strings.Repeat("x", 60), want},
		{"v1 bad address", "PROXY TCP4 999.0.0.1 192.0.2.1 1000 7070\r\n", want},
		{"v1 bad port", "PROXY TCP4 1.2.3.4 192.0.2.1 99999 7070\r\n", want},
		{"v1 IPv6 family with IPv4 addresses", "PROXY TCP6 1.2.3.4 192.0.2.1 1000 7070\r\n", want},
		{"v1 lowercase", "proxy TCP4 1.2.3.4 192.0.2.1 1000 7070\r\n", want},
		{"v2 bad family", sig2 + "\x21\x99\x00\x00", want},
		{"v2 length too big", sig2 + "\x21\x11\xff\xff", want},
		{"v2 TCP4 with a too-short address block", sig2 + "\x21\x11\x00\x04" + "\x01\x02\x03\x04", want},
		{"v2 version 3", sig2 + "\x31\x11\x00\x0c" + strings.Repeat("\x01", 12), want},
		{"v2 signature cut and garbage", sig2[:7] + "garbage\n", want},
		{"binary noise", noise(11, 300, true), want},
		{"NUL bytes", strings.Repeat("\x00", 64), want},
		{"two headers", v1 + v1, only110(errLine)},
		{"valid v2 header, then NUL junk", v2 + "\x00\x00\x00\n", only110(errLine)},
		{"valid v1 header, then overlong line", v1 + "110 " + strings.Repeat("a", 600), only110(testkit.CloseLine(protocol.ReasonLineTooLong))},
		{"valid v1 header, then letters", v1 + strings.Repeat("a", 600), only110(testkit.CloseLine(protocol.ReasonLineTooLong))}, // 512 bytes without an LF
		{"valid v1 header, then a few letters", v1 + strings.Repeat("a", 60), only110(errLine)},
		{"truncated v2 header, then silence", v2[:20], want}, // a bad header once the handshake time is up
		{"silence", "", []string{testkit.CloseLine(protocol.ReasonHandshakeTimeout)}},
	}
	conns := 0
	t.Run("garbage", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, tc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(tc.name, func(t *testing.T) {
					c := dialFrom(t, s.Addr(), "")
					got := make(chan []string, 1)
					go func() { got <- c.transcript(hostileHandshakeTimeout + 5*time.Second) }()
					if tc.send != "" {
						_ = c.send(tc.send)
					}
					assert.Equal(t, tc.want, <-got)
				})
			}()
		}
		wg.Wait()
		conns += len(cases)
	})

	t.Run("ban follows the header's address", func(t *testing.T) {
		hdr := testkit.ProxyHeader(t, 1, "198.51.100.66", 999)
		for range 2 {
			c := dialFrom(t, s.Addr(), "")
			c.mustSend(hdr + "110 nope\n")
			require.Equal(t, only110(testkit.CloseLine(protocol.ReasonAuthFailed)), c.transcript(5*time.Second))
		}
		c := dialFrom(t, s.Addr(), "")
		c.mustSend(hdr + okPass + "120 banned-behind-proxy\n")
		require.Equal(t, []string{testkit.CloseLine(protocol.ReasonTooManyAttempts)}, c.transcript(5*time.Second))
		conns += 3
	})

	t.Run("header cut at every byte", func(t *testing.T) {
		for i, hdr := range []string{v1, v2} {
			for cut := 1; cut < len(hdr); cut++ {
				c := dialFrom(t, s.Addr(), "")
				c.mustSend(hdr[:cut])
				id := fmt.Sprintf("proxy-cut-%d-%d", i, cut)
				c.mustSend(hdr[cut:] + okPass + "120 " + id + "\n")
				c.Expect("110 password") // once the header is whole
				c.Expect("120 id")
				line, err := c.readLine(5 * time.Second)
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(line, "140 connected "), line)
				rec, ok := s.Registry().Get(id)
				require.True(t, ok)
				require.Equal(t, fmt.Sprintf("198.51.100.%d", 20+i), rec.CIP, "cip must come from the header")
				_ = c.Conn.Close()
				conns++
			}
		}
	})

	require.Eventually(t, func() bool {
		connected, _ := s.Registry().Counts()
		return s.Reactor().Connections() == healthyCount && connected == healthyCount
	}, 10*time.Second, 10*time.Millisecond, "connections or registrations leaked")
	lost := 0
	for _, e := range healthy {
		if len(e.bad.All()) > 0 {
			lost++
		}
		assert.Empty(t, e.bad.All(), "healthy proxied client %s", e.id)
		rec, ok := s.Registry().Get(e.id)
		require.True(t, ok)
		assert.True(t, rec.CStatus, e.id)
		assert.Equal(t, sids[e.id], rec.SID, e.id)
		assert.True(t, rec.LastSeen.After(began), "%s answered no keep-alive during the run", e.id)
	}
	// And a fresh proxied client still registers.
	c := dialFrom(t, s.Addr(), "")
	c.mustSend(testkit.ProxyHeader(t, 2, "192.0.2.200", 5555))
	assert.NotZero(t, c.handshake("proxied-after"))
	s.assertNoSecretInLogs(t, testPassword)
	t.Logf("PROXY garbage: %d cases, %d connections, %d healthy clients lost", len(cases)+2, conns, lost)
}
