package ui_test

import (
	"errors"
	"io"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

// The dashboard's load tests drive the benchmark's load engine (package
// bench/load) in `cliser-bench worker` processes, over the worker's
// JSON-RPC on stdin/stdout, as the bench harness does. A built binary,
// not an import: the load lives in its own processes (the open-files
// limit is per process), runs without the race detector this test binary
// may carry, and the bench code is a module of its own
// (testkit.BenchBinary builds it).

// loadConfig is the part of bench/load.Config the tests set (the worker
// takes it as JSON, by field name).
type loadConfig struct {
	Addr, Password, IDPrefix string
	FirstIndex, Concurrency  int
	// SourceIPs spread the dials over loopback addresses, each with its
	// own ephemeral ports: 127.0.0.1's run out on a machine where other
	// tests and benchmarks hold thousands, and a closed run's sockets
	// wait out TIME_WAIT.
	SourceIPs []string
}

// loadWorker is one `cliser-bench worker` process. Not safe for
// concurrent use.
type loadWorker struct {
	t *testing.T
	c *rpc.Client
}

// startLoadWorker starts a worker process, ended when the test ends.
func startLoadWorker(t *testing.T) *loadWorker {
	t.Helper()
	cmd := exec.Command(testkit.BenchBinary(t), "worker")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, tied.Start(cmd))
	w := &loadWorker{t: t, c: jsonrpc.NewClient(pipe{stdout, stdin})}
	t.Cleanup(func() { _ = w.c.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return w
}

// fleet makes the worker's fleet (once per worker) and ramps
// it to n registered clients as fast as the server takes them.
func (w *loadWorker) fleet(cfg loadConfig, n int) {
	w.t.Helper()
	require.NoError(w.t, w.c.Call("Worker.Init", cfg, &struct{}{}))
	require.NoError(w.t, w.c.Call("Worker.Ramp", struct {
		Target int
		Rate   float64
	}{n, 0}, &struct{}{}))
	var st struct {
		Registered int64            `json:"registered"`
		Errors     map[string]int64 `json:"errors"`
	}
	require.NoError(w.t, w.c.Call("Worker.Counts", struct{}{}, &st))
	require.EqualValues(w.t, n, st.Registered, "the load engine's clients registered; its errors: %v", st.Errors)
}

// close closes the fleet's connections: their records stay, disconnected.
func (w *loadWorker) close() {
	w.t.Helper()
	require.NoError(w.t, w.c.Call("Worker.Close", struct{}{}, &struct{}{}))
}

// pipe is the worker's stdout and stdin as one connection.
type pipe struct {
	io.ReadCloser
	w io.WriteCloser
}

func (p pipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipe) Close() error                { return errors.Join(p.ReadCloser.Close(), p.w.Close()) }
