package main

import (
	"bufio"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/logsink"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A log pipe whose reader goes away (a shipper restarting, `| head`) does
// not end the server: Go's default for SIGPIPE on stderr killed it at the
// next log line, every client dropped without a drain. Now the write
// fails, is counted, /readyz says so (still 200), clients go on being
// served, and SIGTERM drains as ever, exit 0.
func TestBinaryLogPipeClosedKeepsServing(t *testing.T) {
	listen, adminAddr := testkit.FreeAddr(t), testkit.FreeAddr(t)
	cmd := exec.Command(testkit.Binary(t), "serve", "--listen", listen, "--admin-listen", adminAddr, "--data-dir", t.TempDir(),
		"--keepalive-interval", "1s")
	cmd.Env = testkit.Environ([]string{"CLISER_PASSWORD"}, "CLISER_PASSWORD=pipe-pw")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, tied.Start(cmd))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	ready := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if strings.Contains(lines.Text(), "cliser ready") {
				close(ready)
				return
			}
		}
	}()
	testkit.Recv(t, ready, 15*time.Second, "no 'cliser ready' line")
	require.NoError(t, stderr.Close(), "the log's reader goes away")

	c := testkit.Dial(t, listen)
	c.Register("pipe-pw", "after-the-pipe") // logged: a write to the closed pipe
	base := "http://" + adminAddr
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logsink.MetricLogWriteErrors)
		return ok && n >= 1
	}, 10*time.Second, 20*time.Millisecond, "the failed log writes are counted")
	code, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"log":"log: writes to stderr fail since `)
	assert.Contains(t, body, "broken pipe")
	code, _ = testkit.HTTPGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.NotZero(t, c.EchoKeepAlive(), "the client is still served")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	c.ExpectClosed("190 " + protocol.ReasonServerShuttingDown.String())
	select {
	case err := <-exited:
		assert.Equal(t, 0, testkit.ExitCode(err), "the drain's exit status: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// The agent too outlives its log pipe: kicked after the pipe's reader
// went away, it logs to the closed pipe and registers again.
func TestAgentBinaryLogPipeClosedKeepsReconnecting(t *testing.T) {
	srv, reg := agentServer(t)
	cmd := exec.Command(testkit.Binary(t), "agent", "--server", srv.Addr(), "--id", "piped-agent",
		"--backoff-min", "10ms", "--backoff-max", "50ms")
	cmd.Env = testkit.Environ([]string{"CLISER_PASSWORD"}, "CLISER_PASSWORD="+agentTestPassword)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, tied.Start(cmd))
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	registered := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if strings.Contains(lines.Text(), `"msg":"registered"`) {
				close(registered)
				return
			}
		}
	}()
	testkit.Recv(t, registered, 15*time.Second, "no 'registered' line")
	require.NoError(t, stderr.Close(), "the log's reader goes away")
	first, _ := reg.Get("piped-agent")

	require.NoError(t, registry.NewLocalDirectory(reg, nil).Kick("piped-agent"))
	require.Eventually(t, func() bool {
		r, ok := reg.Get("piped-agent")
		return ok && r.CStatus && r.Session != first.Session
	}, 15*time.Second, 10*time.Millisecond, "the agent registers again after the kick")
}
