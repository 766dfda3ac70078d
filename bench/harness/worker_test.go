package harness

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/benchtest"
	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// The worker protocol end to end over a pipe: what a load process does,
// without the process.
func TestWorkerOverPipe(t *testing.T) {
	srv := benchtest.Reactor(t, registry.New(), "pw", reactor.WithLoops(1))
	a, b := net.Pipe()
	go ServeWorker(b)
	f, err := newRemoteFleet(a, load.Config{Addr: srv.Addr(), Password: "pw", IDPrefix: "w-"}, 0)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, f.Ramp(ctx, 10, 0))
	st, err := f.Stats()
	require.NoError(t, err)
	assert.EqualValues(t, 10, st.Handshakes)
	assert.EqualValues(t, 10, load.Hist(st.Handshake).TotalCount(), "histograms cross the pipe")
	require.NoError(t, f.SetProbing(false))
	require.NoError(t, f.Close(ctx))
}

func TestWorkerRefusesABadConfig(t *testing.T) {
	a, b := net.Pipe()
	go ServeWorker(b)
	_, err := newRemoteFleet(a, load.Config{}, 0)
	assert.Error(t, err)
}

func TestReportFromARun(t *testing.T) {
	res, err := Run(runCtx(t), KindInproc, tiny(), Env{WorkDir: t.TempDir()})
	require.NoError(t, err)
	base := *res
	base.Server = KindBaseline
	rep := &Report{Date: time.Now(), Machine: ThisMachine(), Settings: tiny(), Chart: "x.png",
		Results: map[string]*Result{KindCliser: res, KindBaseline: &base},
		Micro:   "BenchmarkNextLineParse-2   1000   12.3 ns/op   0 B/op   0 allocs/op\n"}

	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	for _, want := range []string{"## Targets", "| burst: handshakes / s of server CPU |", "![RSS", "BenchmarkNextLineParse", "probe method"} {
		assert.Contains(t, md.String(), want)
	}
	var lines bytes.Buffer
	require.NoError(t, rep.BenchLines(&lines))
	assert.Contains(t, lines.String(), "BenchmarkServer/server=cliser/clients=50-")
	assert.Contains(t, lines.String(), "handshakes/s")
	assert.Equal(t, 2, strings.Count(lines.String(), "\nBenchmarkServer/"))

	var png bytes.Buffer
	require.NoError(t, rep.DrawChart(&png))
	assert.True(t, bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")))

	targets := rep.Targets()
	require.NotEmpty(t, targets)
	assert.Equal(t, "yes", targets[len(targets)-1].Reached, "0 allocs/op read from the micro-benchmarks")
}
