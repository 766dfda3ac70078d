package client

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

func TestRunReconnectsAfterServerRestart(t *testing.T) {
	script := afterHandshake("5", func(c *scriptConn) { c.waitEOF() })
	srv := newScriptedServer(t, script)
	addr := srv.addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, testConfig(addr), Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return l.connected() == 1 }, 5*time.Second, 5*time.Millisecond)

	srv.stop() // server gone: the client sees its connection drop, dials get refused
	require.Eventually(t, func() bool { return len(l.retries()) >= 2 }, 5*time.Second, 5*time.Millisecond)
	startScriptedServer(t, addr, script) // back on the same port

	require.Eventually(t, func() bool { return l.connected() == 2 }, 5*time.Second, 5*time.Millisecond)
	var lost Disconnected
	for _, e := range l.All() {
		if d, ok := e.(Disconnected); ok {
			lost = d
			break
		}
	}
	assert.ErrorIs(t, lost.Err, ErrConnLost)
	assert.Equal(t, protocol.ReasonNone, lost.Reason)
	for _, in := range l.retries() {
		assert.LessOrEqual(t, in, 50*time.Millisecond, "capped")
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestRunStopsAfterShutdownWithHookOnce(t *testing.T) {
	acks := make(chan string, 4)
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		c.send("100 8\n")
		c.readLine()
		c.send("130 shutdown bye\n")
		line, _ := c.readLine()
		acks <- line
	}))
	var hooks atomic.Int32
	cfg := testConfig(srv.addr())
	cfg.OnShutdown = func(text string) {
		assert.Equal(t, "bye", text)
		hooks.Add(1)
	}
	var l eventLog
	done := runAsync(context.Background(), cfg, Backoff{Min: time.Millisecond}, &l)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown")
	}
	assert.Equal(t, "130 ok", <-acks)
	assert.Equal(t, int32(1), hooks.Load())
	assert.Equal(t, 1, srv.acceptedCount(), "no reconnect after a shutdown")
	assert.Equal(t, []Event{Connected{SID: 5}, ShutdownOrdered{Text: "bye"}}, l.All())
}

// "190 shutdown" is no order (only a 130 is, and 190's reasons do not
// include "shutdown"): Run reconnects, calls no hook, and does not end.
// It read as ErrShutdown, and Run returned nil: the agent exited 0 for
// good, before the handshake too, without an ack or its hook.
func TestRunA190ShutdownIsNoOrder(t *testing.T) {
	for name, script := range map[string]func(*scriptConn){
		"registered": afterHandshake("5", func(c *scriptConn) { c.send("190 shutdown\n") }),
		"handshaking": func(c *scriptConn) {
			c.readLine()
			c.readLine()
			c.send("110 password\n190 shutdown\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, script)
			cfg := testConfig(srv.addr())
			var hooks atomic.Int32
			cfg.OnShutdown = func(string) { hooks.Add(1) }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var l eventLog
			done := runAsync(ctx, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, &l)
			require.Eventually(t, func() bool { return srv.acceptedCount() >= 3 }, 5*time.Second, 5*time.Millisecond,
				"Run dials again after a 190 shutdown")
			for _, e := range l.All() {
				if d, ok := e.(Disconnected); ok {
					assert.NotErrorIs(t, d.Err, ErrShutdown)
					assert.Equal(t, protocol.ReasonNone, d.Reason)
					assert.Contains(t, d.Err.Error(), `"shutdown"`)
				}
			}
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
			assert.Zero(t, hooks.Load(), "no hook without a 130")
		})
	}
}

func TestRunAuthFailedBacksOffLong(t *testing.T) {
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		c.send("110 password\n190 auth failed\n")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l eventLog
	b := Backoff{Min: time.Millisecond, Max: 200 * time.Millisecond}
	done := runAsync(ctx, testConfig(srv.addr()), b, &l)
	require.Eventually(t, func() bool { return len(l.retries()) >= 2 }, 5*time.Second, 5*time.Millisecond)
	for _, in := range l.retries() {
		assert.GreaterOrEqual(t, in, 100*time.Millisecond, "auth failed waits in [Max/2, Max]")
		assert.LessOrEqual(t, in, 200*time.Millisecond)
	}
	d := l.All()[0].(Disconnected)
	assert.Equal(t, protocol.ReasonAuthFailed, d.Reason)
	assert.ErrorIs(t, d.Err, ErrAuthFailed)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestRunReplacedDoesNotFightBack(t *testing.T) {
	// Every session is taken over right after it registers, as when another
	// agent runs with the same ID.
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		c.send("190 replaced\n")
	}))
	b := Backoff{Min: 20 * time.Millisecond, Max: time.Second}
	retries := retriesOf(t, srv.addr(), b, 4, 5*time.Second)
	for k, in := range retries {
		assert.GreaterOrEqual(t, in, b.Min, "never below Min after replaced")
		// the k-th replacement in a row waits at least half of Min*2^(k+1)
		floor := min(b.Max, b.Min<<(k+1)) / 2
		assert.GreaterOrEqual(t, in, floor, "retry %d", k)
	}
	// A client fighting back would reconnect hundreds of times; this one
	// needed at least 20+40+80+160ms of waiting for 4 replacements.
	var total time.Duration
	for _, in := range retries[:4] {
		total += in
	}
	assert.GreaterOrEqual(t, total, 300*time.Millisecond)
}

func TestRunContextCancelClosesSession(t *testing.T) {
	eof := make(chan bool, 1)
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		eof <- c.waitEOF()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	var l eventLog
	done := runAsync(ctx, testConfig(srv.addr()), Backoff{}, &l)
	require.Eventually(t, func() bool { return l.connected() == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.True(t, <-eof, "the server sees the client close")
}

func TestRunBadConfigReturnsAtOnce(t *testing.T) {
	err := Run(context.Background(), Config{Addr: "127.0.0.1:1", Password: "p", ID: "bad id"}, Backoff{}, nil)
	assert.ErrorIs(t, err, ErrConfig)
}

// A ban between replacements (the flapping ban two agents sharing an ID
// earn) does not end the fight: the replacements after it go on counting
// up, and their waits with them. It reset the count, so after the ban the
// two came back at Min and flapped into the next ban (audit).
func TestRunReplacedCountOutlivesABan(t *testing.T) {
	var n atomic.Int32
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		if n.Add(1) == 4 {
			c.send("190 banned\n")
			return
		}
		c.send("190 replaced\n")
	}))
	b := Backoff{Min: 20 * time.Millisecond, Max: time.Second}
	retries := retriesOf(t, srv.addr(), b, 5, 10*time.Second)
	assert.GreaterOrEqual(t, retries[3], b.Max/2, "the ban's long wait")
	assert.GreaterOrEqual(t, retries[4], min(b.Max, b.Min<<4)/2, "the 4th replacement in a row, the ban between")
}

func TestBackoffBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}.withDefaults()
	for i := 0; i < 2000; i++ {
		n := i % 12
		ceil := min(b.Max, b.Min<<n)
		d := b.delay(backoffNormal, n)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, ceil, "full jitter stays under min(Max, Min*2^n)")

		l := b.delay(backoffLong, n)
		require.GreaterOrEqual(t, l, b.Max/2)
		require.LessOrEqual(t, l, b.Max)

		r := b.delay(backoffReplaced, n)
		require.GreaterOrEqual(t, r, b.Min)
		require.GreaterOrEqual(t, r, min(b.Max, b.Min<<(n+1))/2)
		require.LessOrEqual(t, r, b.Max)
	}
	// Full jitter really spreads: across many draws the waits differ.
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		seen[b.delay(backoffNormal, 5)] = true
	}
	assert.Greater(t, len(seen), 40)
	// Huge attempt counts do not overflow.
	assert.LessOrEqual(t, b.delay(backoffNormal, 1<<30), b.Max)
}

func TestBackoffDefaults(t *testing.T) {
	b := Backoff{}.withDefaults()
	assert.Equal(t, Backoff{Min: 500 * time.Millisecond, Max: time.Minute, Factor: 2, StableAfter: 30 * time.Second}, b)
	assert.Equal(t, time.Second, Backoff{Min: time.Second, Max: time.Millisecond}.withDefaults().Max, "Max below Min is raised")
	assert.EqualValues(t, 2, Backoff{Factor: math.NaN()}.withDefaults().Factor, "a NaN factor made every wait 0")
}

// The largest Max there is: waits stay in [0, Max] at every count, and
// none overflows (rand.Int64N(hi-lo+1) panicked after ~35 failures; the
// agent takes any --backoff-max). An audit found it.
func TestBackoffAtTheLargestMax(t *testing.T) {
	b := Backoff{Max: math.MaxInt64}.withDefaults()
	for n := range 80 {
		for _, kind := range []backoffKind{backoffNormal, backoffLong, backoffReplaced} {
			d := b.delay(kind, n)
			require.GreaterOrEqual(t, d, time.Duration(0), "kind %d, n %d", kind, n)
		}
	}
	assert.Equal(t, b.Max, b.ceiling(70), "Min*2^70 is past Max: Max, not an overflowed conversion")
	assert.NotPanics(t, func() { between(0, math.MaxInt64) })
}

// Silence where a session registered in the clear before is a server
// stopped or frozen (SIGSTOP: the kernel still takes connections), not a
// TLS port: the advice says so. It said "add --tls", as before any
// session, where it stays (TestTLSFailuresSayWhatToFix).
func TestRunSilenceAfterASessionIsNoTLSPort(t *testing.T) {
	var conns atomic.Int32
	srv := newScriptedServer(t, func(c *scriptConn) {
		if conns.Add(1) == 1 {
			if _, _, ok := c.handshake("5"); ok {
				c.nc.Close() // the first session ends; then the server freezes
			}
			return
		}
		c.waitEOF()
	})
	cfg := testConfig(srv.addr())
	// Long enough for the first, real handshake on a loaded machine: a
	// miss would spend the script's one answering connection.
	cfg.HandshakeTimeout = 500 * time.Millisecond
	logs, _, err := runWarning(t, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, 10*time.Second,
		func(logs *observer.ObservedLogs) bool { return logs.FilterMessage("disconnected").Len() >= 2 })
	assert.ErrorIs(t, err, context.Canceled)
	lines := logs.FilterMessage("disconnected").All()
	assert.NotContains(t, lines[0].ContextMap(), "fix", "a lost session: %v", lines[0].ContextMap())
	silent := lines[1].ContextMap()
	assert.Contains(t, silent["error"], "no prompt")
	assert.Contains(t, silent["fix"], "stopped, frozen or overloaded")
	assert.NotContains(t, silent["fix"], "--tls")
}

// A dial that fails is logged as "could not connect", not "disconnected":
// nothing was connected, and an operator read the line as sessions lost
// (network audit). Its error is ErrDial.
func TestRunSaysADialThatFailedCouldNotConnect(t *testing.T) {
	cfg := testConfig(testkit.FreeAddr(t)) // nothing listens there
	logs, l, err := runWarning(t, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, 10*time.Second,
		func(logs *observer.ObservedLogs) bool { return logs.FilterMessage("could not connect").Len() >= 2 })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, logs.FilterMessage("disconnected").Len())
	assert.Contains(t, logs.FilterMessage("could not connect").All()[0].ContextMap()["error"], "client: dial "+cfg.Addr+": ")
	for _, e := range l.All() {
		if d, ok := e.(Disconnected); ok {
			assert.ErrorIs(t, d.Err, ErrDial)
		}
	}
}

// Bytes that are no line after an acked 130 (a NUL, 600 bytes without an
// LF) do not undo the order: Run returns nil with one hook and no
// reconnect. They ended the session as bad server input, and Run dialled
// again and registered, the hook not run (the agent ran it only when a
// stop signal ended Run).
func TestRunShutdownOrderStandsWhateverFollowsIt(t *testing.T) {
	for name, after := range map[string]string{
		"nul":      "\x00\x00junk",
		"overlong": strings.Repeat("x", 2*protocol.MaxLine),
		"line":     "190 kicked\n",
	} {
		t.Run(name, func(t *testing.T) {
			srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
				c.send("130 shutdown bye\n" + after)
				c.waitEOF()
			}))
			var hooks atomic.Int32
			cfg := testConfig(srv.addr())
			cfg.ShutdownLinger = 500 * time.Millisecond
			cfg.OnShutdown = func(string) { hooks.Add(1) }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var l eventLog
			done := runAsync(ctx, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, &l)
			select {
			case err := <-done:
				require.NoError(t, err, "the order stands")
			case <-time.After(8 * time.Second):
				t.Fatal("Run did not return after the shutdown order")
			}
			assert.Equal(t, int32(1), hooks.Load())
			assert.Equal(t, 1, srv.acceptedCount(), "no reconnect after a shutdown order")
			assert.Equal(t, []Event{Connected{SID: 5}, ShutdownOrdered{Text: "bye"}}, l.All())
		})
	}
}
