package harness

import (
	"bufio"
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/benchtest"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// tiny is a whole run in well under a second of load.
func tiny() Settings {
	s := Quick()
	s.Stages = []int{20, 50}
	s.Concurrency = 16
	// A burst that outlasts a keep-alive interval is reported as a
	// problem (its figures hold keep-alive CPU): 400ms leaves a loaded
	// machine room for 30 handshakes (at 200ms a CI run under -race met
	// "burst 2 took 0.20s") while a 500ms hold still sees keep-alives.
	s.KeepAlive, s.KeepAliveTimeout = 400*time.Millisecond, 2*time.Second
	s.Settle, s.Hold, s.ProbeHold = 100*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	s.Probes = 5
	s.Burst, s.BurstRounds = 30, 2
	s.HoldRounds, s.RoundHold, s.RoundProbeHold = 0, 300*time.Millisecond, 0
	s.ShutdownWait = 10 * time.Second
	return s
}

func runCtx(t *testing.T) context.Context {
	return testkit.Context(t, time.Minute)
}

// A whole run against cliser's real reactor, in this process: every
// handshake counted, the plateaus read, probes measured, the broadcast
// acked by all, and nothing reported wrong.
func TestRunCountsEveryClientOfARealServer(t *testing.T) {
	res, err := Run(runCtx(t), KindInproc, tiny(), Env{WorkDir: t.TempDir()})
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	assert.Empty(t, res.Errors)
	assert.EqualValues(t, 50, res.Handshakes)
	assert.EqualValues(t, 60, res.Burst.Handshakes, "two bursts of 30 after the shutdown, counted apart")
	assert.EqualValues(t, 60, res.Burst.Latency.Count)
	assert.Positive(t, res.Burst.PerCPU)
	require.Len(t, res.Stages, 2)
	assert.EqualValues(t, 20, res.Stages[0].Registered)
	assert.EqualValues(t, 30, res.Stages[1].Handshakes)
	assert.EqualValues(t, 50, res.Stages[1].Registered)
	assert.Positive(t, res.Stages[1].RSS)
	assert.EqualValues(t, 50, res.Handshake.Count)
	assert.Positive(t, res.HandshakeRate)
	assert.EqualValues(t, 50, res.Idle.Clients)
	assert.Positive(t, res.Idle.KeepAlives)
	require.NotNil(t, res.ServerRTT, "the in-process server reports its own RTT")
	assert.Positive(t, res.ServerRTT.Count)
	assert.Positive(t, res.ProbeRTT.Count)
	assert.EqualValues(t, 50, res.Shutdown.Registered)
	assert.Equal(t, 50, res.Shutdown.Sent)
	assert.EqualValues(t, 50, res.Shutdown.Acked)
	assert.EqualValues(t, 50, res.Shutdown.Closed)
	assert.GreaterOrEqual(t, res.Shutdown.LastClose, res.Shutdown.LastAck)
	require.NotNil(t, res.Shutdown.ToAcks, "the scheduler's account up to the last ack")
	assert.GreaterOrEqual(t, res.Shutdown.ToAcks.SeenMS, res.Shutdown.LastAck)
	assert.Positive(t, res.Shutdown.ToAcks.Server.Run, "the in-process server ran")
	assert.NotEmpty(t, res.Series)

	rep := &Report{Settings: tiny(), Results: map[string]*Result{KindInproc: res}}
	assert.Empty(t, rep.Failed())
}

// startOtherReactor is a real cliser server with a password the load does
// not know.
func startOtherReactor(t *testing.T) string {
	t.Helper()
	return benchtest.Reactor(t, registry.New(), "another-password", reactor.WithLoops(1)).Addr()
}

func TestRunReportsARefusingServer(t *testing.T) {
	ext := &External{Addr: startOtherReactor(t), PID: os.Getpid()}
	res, err := Run(runCtx(t), KindCliser, tiny(), Env{WorkDir: t.TempDir(), External: ext})
	require.NoError(t, err, "the run itself works; what went wrong is in the result")
	assert.Zero(t, res.Handshakes)
	assert.Positive(t, res.Errors["190 auth failed"], "errors: %v", res.Errors)
	assert.EqualValues(t, 50, sumErrors(res.Errors))
	// Failed clients do not come back: the plateau is not waited out.
	assert.Contains(t, res.Problems, "plateau 50: 0 of 50 registered; 50 clients failed (see the errors)")
	rep := &Report{Results: map[string]*Result{KindCliser: res}}
	assert.NotEmpty(t, rep.Failed())
}

// garbageServer answers every connection with a line that is not the protocol.
func garbageServer(t *testing.T) string {
	t.Helper()
	return benchtest.Listener(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		_, _ = r.ReadString('\n')
		_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
		_, _ = r.ReadString('\n')
	})
}

func TestRunReportsAGarbageServer(t *testing.T) {
	ext := &External{Addr: garbageServer(t), PID: os.Getpid()}
	res, err := Run(runCtx(t), KindCliser, tiny(), Env{WorkDir: t.TempDir(), External: ext})
	require.NoError(t, err)
	assert.EqualValues(t, 50, res.Errors["garbage from server"], "errors: %v", res.Errors)
	assert.Contains(t, res.Problems, "plateau 20: 0 of 20 registered; 20 clients failed (see the errors)")
	assert.Contains(t, res.Problems, "no client registered; skipping the hold, the probes and the shutdown")
	rep := &Report{Results: map[string]*Result{KindCliser: res}}
	assert.NotEmpty(t, rep.Failed())
}

func TestShareSplitsEvenly(t *testing.T) {
	total := 0
	for i := range 3 {
		total += share(19000, 3, i)
	}
	assert.Equal(t, 19000, total)
	assert.Equal(t, 6334, share(19000, 3, 0))
	assert.Equal(t, 6333, share(19000, 3, 2))
}
