package client

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests from a mutation audit of Run: each pins a rule a mutant broke
// with every other test passing.

// retriesCutShort runs Run against addr until it has waited n times and
// returns the waits it picked. Each wait is cut short by TryNow, sent as
// Retrying is reported, so long picks cost no time.
func retriesCutShort(t *testing.T, addr string, b Backoff, n int) []time.Duration {
	t.Helper()
	now := make(chan struct{}, 1)
	cfg := testConfig(addr)
	cfg.TryNow = now
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var l eventLog
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, b, func(e Event) {
			l.Add(e)
			if _, ok := e.(Retrying); ok {
				select {
				case now <- struct{}{}:
				default:
				}
			}
		})
	}()
	require.Eventually(t, func() bool { return len(l.retries()) >= n }, 10*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	return l.retries()[:n]
}

// The ordinary wait grows with the failures since the last stable
// session (docs/agent.md: "n the failures since the last session that
// stayed up 30 s or more"), and a session that lasted StableAfter resets
// the count. Neither the reset, its comparison, the count's growth nor
// the session's start time had a test.
func TestRunStableSessionResetsTheFailureCount(t *testing.T) {
	// Every session registers and is dropped at once.
	srv := newScriptedServer(t, afterHandshake("5", func(*scriptConn) {}))
	b := Backoff{Min: time.Millisecond, Max: time.Hour, Factor: 10}

	b.StableAfter = time.Hour // no session is stable: the ceilings grow 1ms, 10ms, 100ms, ...
	grown := retriesCutShort(t, srv.addr(), b, 8)
	// All eight under Min has a chance of about 1e-21.
	assert.Greater(t, slices.Max(grown), b.Min, "the waits grow with the failures: %v", grown)

	b.StableAfter = time.Nanosecond // every session is stable: each wait is the first's
	for i, in := range retriesCutShort(t, srv.addr(), b, 8) {
		assert.LessOrEqual(t, in, b.Min, "wait %d after a stable session", i)
	}
}

// An ordinary disconnect ends a row of replacements (docs/agent.md: "a
// refusal such as banned between two replacements does not break the
// row; another disconnect does"): the replacement after it waits as the
// first in a row, in [Min, 2*Min]. Only the ban's half had a test.
func TestRunOrdinaryDisconnectEndsTheReplacedRow(t *testing.T) {
	var n atomic.Int32
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		if n.Add(1) == 3 {
			c.send("190 kicked\n")
			return
		}
		c.send("190 replaced\n")
	}))
	b := Backoff{Min: 20 * time.Millisecond, Max: 10 * time.Second}
	r := retriesCutShort(t, srv.addr(), b, 5)
	for _, i := range []int{0, 3} {
		assert.GreaterOrEqual(t, r[i], b.Min, "retry %d: the first replacement in a row", i)
		assert.LessOrEqual(t, r[i], 2*b.Min, "retry %d: the first replacement in a row", i)
	}
	assert.GreaterOrEqual(t, r[1], 2*b.Min, "the second in a row")
	assert.LessOrEqual(t, r[1], 4*b.Min, "the second in a row")
	assert.LessOrEqual(t, r[2], 4*b.Min, "the kick's ordinary wait, its third failure")
}

// A 140 and a 130 in one segment: Run reports Connected, then
// ShutdownOrdered, and returns nil. The handshake stops reading at the
// 140 so that the order reaches the session's reader, after Connected.
func TestRunShutdownInTheSegmentOfThe140(t *testing.T) {
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		c.send("110 password\n120 id\n140 connected 6\n130 shutdown now\n")
		c.readLine()
	})
	var hooks atomic.Int32
	cfg := testConfig(srv.addr())
	cfg.OnShutdown = func(string) { hooks.Add(1) }
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, &l)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(8 * time.Second):
		t.Fatal("Run did not return after the shutdown order")
	}
	assert.Equal(t, []Event{Connected{SID: 6}, ShutdownOrdered{Text: "now"}}, l.All())
	assert.EqualValues(t, 1, hooks.Load())
}

// A ReadPassword that returns no valid password (an empty file, a line
// with a CR left in it) keeps the one of before (Config.ReadPassword):
// the next attempt answers with it. Taken as is, Dial refused the
// config and Run returned ErrConfig: the agent exited on a half-written
// password file. A mutation audit removed the check with every test
// passing.
func TestRunKeepsThePasswordWhenTheReadOneIsInvalid(t *testing.T) {
	answers := make(chan string, 4)
	srv := newScriptedServer(t, func(c *scriptConn) {
		if pw, _, ok := c.handshake("5"); ok {
			select {
			case answers <- pw:
			default: // the first few are enough
			}
		}
		// the session ends at once: Run attempts again
	})
	cfg := testConfig(srv.addr())
	cfg.ReadPassword = func() (string, error) { return "half\nwritten", nil }
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, cfg, Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return l.connected() >= 2 }, 10*time.Second, time.Millisecond,
		"Run goes on after an invalid read: %v", l.All())
	assert.Equal(t, "110 s3cret", <-answers)
	assert.Equal(t, "110 s3cret", <-answers, "the second attempt answers with the password of before")
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// Run's events may be nil (its doc: "events, when not nil, is called"):
// a caller that wants only the logs passes none. Every kind of event
// comes here (a kick, a wait, a session, a shutdown order) and Run
// returns nil after the ack. A mutation audit removed the nil check with
// every test passing; each event was then a call of a nil func.
func TestRunWithoutEvents(t *testing.T) {
	var n atomic.Int32
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		if n.Add(1) == 1 {
			c.send("190 kicked\n")
			return
		}
		c.send("100 7\n130 shutdown bye\n")
		c.readLine()
		c.readLine()
	}))
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), testConfig(srv.addr()), Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, nil)
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown order")
	}
	assert.EqualValues(t, 2, n.Load())
}
