package load

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/benchtest"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const testPassword = "bench-pw"

// startReactor runs the real cliser server in-process on 127.0.0.1:0.
func startReactor(t *testing.T, keepAlive time.Duration) (string, *registry.Registry) {
	t.Helper()
	reg := registry.New()
	srv := benchtest.Reactor(t, reg, testPassword, reactor.WithKeepAlive(keepAlive, 5*time.Second), reactor.WithLoops(2))
	return srv.Addr(), reg
}

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	testkit.StopAtEnd(t, e.Close)
	return e
}

func ramp(t *testing.T, e *Engine, n int) Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, e.Ramp(ctx, n, 0))
	return e.Stats()
}

const waitFor, pollEvery = 10 * time.Second, 5 * time.Millisecond

// The whole life of a small fleet against the real server: every handshake
// counted, keep-alives answered, probes measured, a broadcast shutdown acked
// by all, and nothing counted as an error.
func TestFleetAgainstRealServerCountsEverything(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { testFleetAgainstRealServer(t, tr) })
	}
}

var transports = []string{TransportEpoll}

func testFleetAgainstRealServer(t *testing.T, transport string) {
	const n, probes = 50, 5
	addr, reg := startReactor(t, 20*time.Millisecond)
	rampFrom := time.Now().UnixNano()
	e := newEngine(t, Config{Addr: addr, Password: testPassword, Probes: probes, Transport: transport,
		SourceIPs: []string{"127.0.0.2", "127.0.0.3"}, Concurrency: 16})

	st := ramp(t, e, n)
	require.Empty(t, st.Errors)
	assert.EqualValues(t, n, st.Started)
	assert.EqualValues(t, n, st.Handshakes)
	assert.EqualValues(t, n, st.Registered)
	assert.EqualValues(t, n, hdrCount(st.Handshake))
	connected, _ := reg.Counts()
	assert.Equal(t, n, connected)

	require.Eventually(t, func() bool { return e.Stats().KeepAlives >= 2*n }, waitFor, pollEvery)
	assert.Positive(t, hdrCount(e.Stats().KeepAliveGap))
	first := e.Stats().FirstKeepAlive
	assert.Greater(t, first, rampFrom+int64(20*time.Millisecond), "the first keep-alive comes an interval after a registration")
	assert.Less(t, first, time.Now().UnixNano())

	e.SetProbing(true)
	require.Eventually(t, func() bool { return e.Stats().ProbeSamples >= 2*probes }, waitFor, pollEvery)
	e.SetProbing(false)
	require.Eventually(t, func() bool {
		s := e.Stats()
		return s.ProbesPending == 0 && s.Registered == n
	}, waitFor, pollEvery)
	st = e.Stats()
	assert.EqualValues(t, st.ProbeSamples, hdrCount(st.ProbeRTT))
	assert.GreaterOrEqual(t, st.ProbeReconnects, st.ProbeSamples-probes, "a measured probe registers again")
	assert.EqualValues(t, n, st.Handshakes, "probe reconnects are not ramp handshakes")

	before := time.Now().UnixNano()
	sent := 0
	for _, c := range reg.Conns() {
		require.NoError(t, c.Shutdown("bench"))
		sent++
	}
	require.Equal(t, n, sent)
	require.Eventually(t, func() bool { return e.Stats().ClosedAfterAck == n }, waitFor, pollEvery)
	st = e.Stats()
	require.Empty(t, st.Errors)
	assert.EqualValues(t, n, st.ShutdownOrders)
	assert.EqualValues(t, n, st.ShutdownAcks)
	assert.Zero(t, st.Registered)
	assert.GreaterOrEqual(t, st.FirstOrder, before)
	assert.GreaterOrEqual(t, st.LastAck, st.FirstOrder)
	assert.GreaterOrEqual(t, st.LastClose, st.LastAck)
}

// A refused password is counted by its 190 reason, never as a handshake.
func TestWrongPasswordCountedByKind(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			addr, _ := startReactor(t, time.Second)
			e := newEngine(t, Config{Addr: addr, Password: "not-it", Transport: tr})
			st := ramp(t, e, 8)
			assert.Zero(t, st.Handshakes)
			assert.Zero(t, st.Registered)
			assert.EqualValues(t, 8, st.ErrorTotal())
			assert.Positive(t, st.Errors["190 auth failed"], "errors: %v", st.Errors)
		})
	}
}

// fakeServer answers every connection with a script, for servers that
// break the protocol.
func fakeServer(t *testing.T, script func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				script(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestServerMisbehaviourCountedByKind(t *testing.T) {
	cases := []struct {
		name   string
		script string
		kind   string
		hs     int64
	}{
		{"garbage", "HTTP/1.1 400 Bad Request\n", KindGarbage, 0},
		{"unknown code in handshake", "110 password\n150 hello\n", KindUnexpectedLine, 0},
		{"silent close", "110 password\n", KindEOFHandshake, 0},
		{"bad sid", "140 connected 0\n", KindGarbage, 0},
		{"garbage after registration", "140 connected 7\n100 abc\n", KindGarbage, 1},
		{"unknown code after registration", "140 connected 7\n120 id\n", KindUnexpectedLine, 1},
		{"close while registered", "140 connected 7\n", KindEOFRegistered, 1},
		{"190 while registered", "140 connected 7\n190 keepalive timeout\n", "190 keepalive timeout", 1},
	}
	for _, tc := range cases {
		for _, tr := range transports {
			t.Run(tc.name+"/"+tr, func(t *testing.T) {
				addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
					_, _ = r.ReadString('\n') // 110 <password>
					_, _ = r.ReadString('\n') // 120 <id>
					_, _ = c.Write([]byte(tc.script))
				})
				e := newEngine(t, Config{Addr: addr, Password: testPassword, Transport: tr})
				ramp(t, e, 3)
				require.Eventually(t, func() bool { return e.Stats().ErrorTotal() == 3 }, waitFor, pollEvery)
				st := e.Stats()
				assert.EqualValues(t, 3, st.Errors[tc.kind], "errors: %v", st.Errors)
				assert.EqualValues(t, 3*tc.hs, st.Handshakes)
				assert.Zero(t, st.Registered)
			})
		}
	}
}

func TestProbeAnsweredWrongIsAnError(t *testing.T) {
	addr := fakeServer(t, func(c net.Conn, r *bufio.Reader) {
		_, _ = r.ReadString('\n')
		_, _ = r.ReadString('\n')
		_, _ = c.Write([]byte("140 connected 3\n100 1\n"))
		_, _ = r.ReadString('\n') // the echo
		_, _ = c.Write([]byte("100 2\n"))
		_, _ = r.ReadString('\n')
	})
	for _, tr := range transports {
		e := newEngine(t, Config{Addr: addr, Password: testPassword, Probes: 1, Transport: tr})
		e.SetProbing(true)
		ramp(t, e, 1)
		require.Eventually(t, func() bool { return e.Stats().ErrorTotal() == 1 }, waitFor, pollEvery, tr)
		assert.EqualValues(t, 1, e.Stats().Errors[KindProbeAnswer], tr)
		assert.Zero(t, e.Stats().ProbesPending, tr)
	}
}

func TestMergeAddsFleets(t *testing.T) {
	a := Stats{Handshakes: 2, Errors: map[string]int64{"x": 1}, FirstOrder: 50, LastAck: 70, FirstKeepAlive: 0}
	h := newHist()
	h.record(time.Millisecond)
	b := Stats{Handshakes: 3, Errors: map[string]int64{"x": 2, "y": 1}, FirstOrder: 40, LastAck: 60, FirstKeepAlive: 30, Handshake: h.snapshot()}
	a.Merge(b)
	assert.EqualValues(t, 5, a.Handshakes)
	assert.Equal(t, map[string]int64{"x": 3, "y": 1}, a.Errors)
	assert.EqualValues(t, 40, a.FirstOrder)
	assert.EqualValues(t, 30, a.FirstKeepAlive, "a fleet without keep-alives (0) does not hide another's")
	a.Merge(Stats{FirstKeepAlive: 35})
	assert.EqualValues(t, 30, a.FirstKeepAlive)
	assert.EqualValues(t, 70, a.LastAck)
	assert.EqualValues(t, 1, hdrCount(a.Handshake))
	h.record(2 * time.Millisecond)
	assert.EqualValues(t, 1, hdrCount(Since(b.Handshake, h.snapshot())))
}

func TestConfigRejected(t *testing.T) {
	for _, cfg := range []Config{
		{Password: "x"},
		{Addr: "127.0.0.1:1"},
		{Addr: "127.0.0.1:1", Password: "x", IDPrefix: "bad id "},
		{Addr: "127.0.0.1:1", Password: "x", SourceIPs: []string{"nope"}},
		{Addr: "127.0.0.1:1", Password: "x", Transport: "carrier-pigeon"},
		{Addr: "localhost-ish", Password: "x"},
		{Addr: "127.0.0.1:1", Password: "x", KeepAlive: -time.Second},
	} {
		_, err := New(cfg)
		assert.ErrorIs(t, err, ErrConfig, "%+v", cfg)
	}
}

// A client that cannot reach the server is counted by why: refused by a
// port nobody listens on, or no address to bind for a source this machine
// does not have.
func TestDialFailuresCountedByKind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, tc := range []struct {
		name, kind string
		sources    []string
	}{
		{"refused", "dial: connection refused", nil},
		{"no such source", "dial: no free local port", []string{"192.0.2.1"}},
	} {
		for _, tr := range transports {
			t.Run(tc.name+"/"+tr, func(t *testing.T) {
				e := newEngine(t, Config{Addr: closed, Password: testPassword, Transport: tr, SourceIPs: tc.sources})
				ramp(t, e, 3)
				require.Eventually(t, func() bool { return e.Stats().ErrorTotal() == 3 }, waitFor, pollEvery)
				assert.Equal(t, map[string]int64{tc.kind: 3}, e.Stats().Errors)
				assert.Zero(t, e.Stats().Handshakes)
			})
		}
	}
}
