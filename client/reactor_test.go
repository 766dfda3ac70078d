package client

// Integration tests against the real server (package reactor) on
// 127.0.0.1:0: what the scripted server cannot prove is that this client and
// cliser's own server agree.

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const realPassword = "real-s3cret"

func startReactor(t *testing.T, reg *registry.Registry, addr string, opts ...reactor.Option) *reactor.Server {
	t.Helper()
	base := []reactor.Option{
		reactor.WithAddr(addr),
		reactor.WithPasswords([][]byte{[]byte(realPassword)}),
		reactor.WithLoops(1),
		reactor.WithLogger(zap.NewNop()),
	}
	srv, err := reactor.New(reg, append(base, opts...)...)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	testkit.StopAtEnd(t, srv.Stop)
	return srv
}

func realConfig(addr, id string) Config {
	return Config{Addr: addr, Password: realPassword, ID: id, HandshakeTimeout: 5 * time.Second}
}

func TestRealServerHandshakeAndSID(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0")
	conn := dialT(t, realConfig(srv.Addr(), "real-1"))
	rec, ok := reg.Get("real-1")
	require.True(t, ok)
	assert.True(t, rec.CStatus)
	assert.Equal(t, rec.SID, conn.SID())
	assert.NotZero(t, conn.SID())
	host, port, err := net.SplitHostPort(conn.LocalAddr().String())
	require.NoError(t, err)
	assert.Equal(t, host, rec.CIP)
	assert.Equal(t, port, rec.CPort)

	require.NoError(t, conn.Close(context.Background()))
	require.Eventually(t, func() bool { r, _ := reg.Get("real-1"); return !r.CStatus }, 5*time.Second, 5*time.Millisecond)
	r, _ := reg.Get("real-1")
	assert.Equal(t, protocol.ReasonClosedByClient, r.Reason)
}

func TestRealServerAuthFailedIsTyped(t *testing.T) {
	srv := startReactor(t, registry.New(), "127.0.0.1:0")
	cfg := realConfig(srv.Addr(), "real-2")
	cfg.Password = "wrong"
	_, err := Dial(context.Background(), cfg)
	assert.ErrorIs(t, err, ErrAuthFailed)
}

func TestRealServerKeepAlivesOverSeveralIntervals(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0", reactor.WithKeepAlive(50*time.Millisecond, 200*time.Millisecond))
	conn := dialT(t, realConfig(srv.Addr(), "real-3"))
	first, _ := reg.Get("real-3")
	// Ten intervals and more: each unanswered keep-alive would close the
	// session within 200ms; LastSeen moves only on a correct echo.
	require.Eventually(t, func() bool {
		r, _ := reg.Get("real-3")
		return r.LastSeen.Sub(first.LastSeen) >= 500*time.Millisecond
	}, 10*time.Second, 10*time.Millisecond)
	select {
	case <-conn.Done():
		t.Fatalf("session ended: %v", conn.Wait())
	default:
	}
	r, _ := reg.Get("real-3")
	assert.True(t, r.CStatus)
	assert.Equal(t, conn.SID(), r.SID)
}

func TestRealServerTakeoverOlderDoesNotFightBack(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var older eventLog
	b := Backoff{Min: 300 * time.Millisecond, Max: 5 * time.Second}
	done := runAsync(ctx, realConfig(srv.Addr(), "real-4"), b, &older)
	require.Eventually(t, func() bool { return older.connected() == 1 }, 5*time.Second, 5*time.Millisecond)

	newer := dialT(t, realConfig(srv.Addr(), "real-4"))
	require.Eventually(t, func() bool { return len(older.retries()) == 1 }, 5*time.Second, 5*time.Millisecond)
	var d Disconnected
	for _, e := range older.All() {
		if x, ok := e.(Disconnected); ok {
			d = x
		}
	}
	assert.Equal(t, protocol.ReasonReplaced, d.Reason)
	assert.ErrorIs(t, d.Err, ErrReplaced)
	assert.GreaterOrEqual(t, older.retries()[0], b.Min)
	rec, _ := reg.Get("real-4")
	assert.Equal(t, newer.SID(), rec.SID, "the newer connection holds the record")

	// The older one comes back only after its backoff; a plain Conn that
	// is replaced then stays down (no loop at all).
	err := waitErr(t, newer)
	assert.ErrorIs(t, err, ErrReplaced)
	require.Eventually(t, func() bool { return older.connected() == 2 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestRealServerRestartOnSamePortReconnects(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0")
	addr := srv.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, realConfig(addr, "real-5"), Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return l.connected() == 1 }, 5*time.Second, 5*time.Millisecond)

	_ = srv.Stop(testkit.Context(t, testkit.StopTimeout))
	require.Eventually(t, func() bool { return len(l.retries()) >= 1 }, 5*time.Second, 5*time.Millisecond)
	d := l.All()[1].(Disconnected)
	assert.Equal(t, protocol.ReasonServerShuttingDown, d.Reason, "%v", d.Err)

	var srv2 *reactor.Server
	for deadline := time.Now().Add(3 * time.Second); ; {
		s, err := reactor.New(reg, reactor.WithAddr(addr), reactor.WithLoops(1),
			reactor.WithPasswords([][]byte{[]byte(realPassword)}), reactor.WithLogger(zap.NewNop()))
		if err == nil {
			err = s.Start()
		}
		if err == nil {
			srv2 = s
			break
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("restart on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the port until it is free
	}
	testkit.StopAtEnd(t, srv2.Stop)

	require.Eventually(t, func() bool { return l.connected() == 2 }, 10*time.Second, 5*time.Millisecond)
	rec, _ := reg.Get("real-5")
	assert.True(t, rec.CStatus)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestRealServerShutdownRunsHookOnceAndRunReturns(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0", reactor.WithKeepAlive(50*time.Millisecond, time.Second))
	var hooks atomic.Int32
	var text atomic.Value
	cfg := realConfig(srv.Addr(), "real-6")
	cfg.OnShutdown = func(s string) { hooks.Add(1); text.Store(s) }
	var l eventLog
	done := runAsync(context.Background(), cfg, Backoff{Min: 10 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return l.connected() == 1 }, 5*time.Second, 5*time.Millisecond)

	conn, err := reg.Conn("real-6")
	require.NoError(t, err)
	require.NoError(t, conn.Shutdown("patch tuesday"))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown")
	}
	assert.Equal(t, int32(1), hooks.Load())
	assert.Equal(t, "patch tuesday", text.Load())
	require.Eventually(t, func() bool { r, _ := reg.Get("real-6"); return !r.CStatus }, 5*time.Second, 5*time.Millisecond)
	r, _ := reg.Get("real-6")
	assert.Equal(t, protocol.ReasonShutdown, r.Reason)
	assert.Equal(t, 1, l.connected(), "no reconnect after the shutdown")
}

func TestRealServerManySessionsDistinctSIDs(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0")
	seen := map[uint16]bool{}
	for i := 0; i < 50; i++ {
		c := dialT(t, realConfig(srv.Addr(), "many-"+strconv.Itoa(i)))
		assert.False(t, seen[c.SID()], "sid %d twice", c.SID())
		seen[c.SID()] = true
	}
	connected, _ := reg.Counts()
	assert.Equal(t, 50, connected)
}

// An agent pointed at a --proxy-protocol port past its TLS terminator is
// told "190 protocol error" before any prompt (docs/tls.md): the log says
// what to fix. It said only "protocol error", read as a bug of the client.
// The same line after the 110 prompt is another fault: no such advice.
func TestRefusedBeforeThePromptNamesTheProxyProtocol(t *testing.T) {
	proxied := startReactor(t, registry.New(), "127.0.0.1:0", reactor.WithProxyProtocol(true))
	prompted := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		c.send("110 password\n190 protocol error\n")
	})
	for _, tc := range []struct {
		name, addr, fix string
	}{
		{"proxy-protocol port", proxied.Addr(), "--proxy-protocol"},
		{"after the prompt", prompted.addr(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := firstDisconnect(t, tc.addr, "pp-1")
			assert.Equal(t, "protocol error", line["reason"], "the reason stays the server's")
			if tc.fix == "" {
				assert.NotContains(t, line, "fix")
				return
			}
			assert.Contains(t, line["fix"], tc.fix, "error: %v", line["error"])
		})
	}
}

// firstDisconnect runs a client of id against addr until it logs its
// first "disconnected" warning, and gives that line's fields.
func firstDisconnect(t *testing.T, addr, id string) map[string]any {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	cfg := realConfig(addr, id)
	cfg.Logger = zap.New(core)
	ctx, cancel := context.WithCancel(t.Context())
	var l eventLog
	done := runAsync(ctx, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return logs.FilterMessage("disconnected").Len() > 0 },
		5*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	return logs.FilterMessage("disconnected").All()[0].ContextMap()
}
