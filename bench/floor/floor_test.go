package floor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/internal/prom"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

const testPassword = "floor-pw"

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Addr, cfg.Password, cfg.Loops = "127.0.0.1:0", []byte(testPassword), 2
	srv, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv
}

// The floor's lines are cliser's, byte for byte: the prompts, the 140,
// keep-alives with a token, their echo, and the close reasons.
func TestFloorSpeaksTheWireLines(t *testing.T) {
	srv := start(t, Config{KeepAlive: 20 * time.Millisecond, KeepAliveTimeout: time.Second})
	c := testkit.Dial(t, srv.Addr())
	c.Expect("110 password")
	c.Send("110 " + testPassword + "\n")
	c.Expect("120 id")
	c.Send("120 dev-1\n")
	c.Expect("140 connected 1")
	for range 3 {
		tok := c.EchoKeepAlive()
		_, err := protocol.ParseToken([]byte(strings.TrimPrefix(tok, "100 ")))
		require.NoError(t, err, tok)
	}
	// A second echo of the same token: no keep-alive is outstanding.
	line := c.ReadLine()
	c.Send(line + "\n" + line + "\n")
	c.ExpectClosed("190 protocol error")
}

func TestFloorRefusesWhatCliserRefuses(t *testing.T) {
	// Only the silent client meets the short timeout: on a loaded machine
	// 50ms can pass between the prompt and a refused answer, which then
	// read "190 handshake timeout" instead of its own reason.
	patient := start(t, Config{HandshakeTimeout: 10 * time.Second})
	hasty := start(t, Config{HandshakeTimeout: 50 * time.Millisecond})
	for _, tc := range []struct {
		send string
		want []string
	}{
		{"110 wrong\n", []string{"190 auth failed"}},
		{"120 dev-1\n", []string{"190 protocol error"}},
		{"110 " + testPassword + "\n120 bad id!\n", []string{"120 id", "190 bad id"}},
		{"", []string{"190 handshake timeout"}},
	} {
		t.Run(tc.want[len(tc.want)-1], func(t *testing.T) {
			srv := patient
			if tc.send == "" {
				srv = hasty
			}
			c := testkit.Dial(t, srv.Addr())
			c.Expect("110 password")
			if tc.send != "" {
				c.Send(tc.send)
			}
			c.ExpectClosed(tc.want...)
		})
	}
}

func TestFloorClosesAnUnansweredKeepAlive(t *testing.T) {
	srv := start(t, Config{KeepAlive: 20 * time.Millisecond, KeepAliveTimeout: 60 * time.Millisecond})
	c := testkit.Dial(t, srv.Addr())
	c.Register(testPassword, "quiet-1")
	c.ExpectClosed("100 1", "190 keepalive timeout")
}

// The harness's load engine runs its whole protocol against the floor:
// pipelined handshakes, keep-alives, probes and the broadcast shutdown,
// with no error of any kind.
func TestLoadEngineRegistersAgainstFloor(t *testing.T) {
	const n, probes = 200, 10
	srv := start(t, Config{KeepAlive: 20 * time.Millisecond, KeepAliveTimeout: 5 * time.Second})
	e, err := load.New(load.Config{Addr: srv.Addr(), Password: testPassword, Probes: probes,
		SourceIPs: []string{"127.0.0.2", "127.0.0.3"}, Concurrency: 32})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, e.Ramp(ctx, n, 0))
	st := e.Counts()
	require.Empty(t, st.Errors)
	require.EqualValues(t, n, st.Registered)

	e.SetProbing(true)
	waitUntil(t, func() bool { s := e.Counts(); return s.KeepAlives >= 5*n && s.ProbeSamples >= probes })
	e.SetProbing(false)
	waitUntil(t, func() bool { s := e.Counts(); return s.ProbesPending == 0 && s.Registered == n })

	assert.Equal(t, n, srv.ShutdownAll("bench"))
	waitUntil(t, func() bool { return e.Counts().ClosedAfterAck == n })
	st = e.Counts()
	assert.Empty(t, st.Errors)
	assert.EqualValues(t, n, st.ShutdownAcks)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The codec's golden vectors, sent by a registered client, close the
// floor's connection with the reason cliser gives them (see reactor's
// TestGoldenLinesAfterRegistration): the floor parses as cliser does.
func TestFloorAnswersTheGoldenVectorsAsCliser(t *testing.T) {
	srv := start(t, Config{KeepAlive: time.Hour})
	for _, g := range protocol.GoldenLines {
		if g.Partial() {
			continue
		}
		want := protocol.ReasonProtocolError
		if g.Err != nil {
			want = protocol.ReasonFor(g.Err)
		}
		c := testkit.Dial(t, srv.Addr())
		c.Register(testPassword, "golden-1")
		c.Send(g.Wire)
		c.ExpectClosed(strings.TrimSuffix(string(protocol.AppendClose(nil, want)), "\n"))
	}
}

// The floor times its keep-alives on its own clock over cliser's bounds:
// every echo is counted once, and one held back 30 ms lands past 25 ms.
func TestFloorTimesKeepAlivesOnCliserBounds(t *testing.T) {
	srv := start(t, Config{KeepAlive: 20 * time.Millisecond, KeepAliveTimeout: 5 * time.Second})
	c := testkit.Dial(t, srv.Addr())
	c.Register(testPassword, "rtt-1")
	for range 3 {
		c.EchoKeepAlive()
	}
	line := c.ReadLine()
	time.Sleep(30 * time.Millisecond) // the stimulus: a slow echo
	c.Send(line + "\n")
	waitUntil(t, func() bool { return total(srv.KeepAliveRTT().Counts) == 4 })
	r := srv.KeepAliveRTT()
	assert.Equal(t, prom.KeepAliveRTTBuckets, r.Bounds)
	require.Len(t, r.Counts, len(r.Bounds)+1)
	var past25ms uint64
	for i, b := range r.Bounds {
		if b > 0.025 {
			past25ms += r.Counts[i]
		}
	}
	past25ms += r.Counts[len(r.Bounds)]
	// At least: on a loaded machine a prompt echo can take 25 ms too.
	assert.GreaterOrEqual(t, past25ms, uint64(1), "%v", r.Counts)
	assert.GreaterOrEqual(t, r.Sum, 30*time.Millisecond)
}

func total(v []uint64) (n uint64) {
	for _, x := range v {
		n += x
	}
	return n
}
