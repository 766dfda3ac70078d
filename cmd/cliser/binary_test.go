package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// servedProcess is `cliser serve` running as a subprocess.
type servedProcess struct {
	cmd     *exec.Cmd
	addr    string
	logs    *strings.Builder
	logsMu  *sync.Mutex
	exited  chan struct{}
	exitErr error
}

// startServe runs the binary with args and env, and waits for its "ready"
// log line to learn the address.
func startServe(t *testing.T, env []string, args ...string) *servedProcess {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &servedProcess{cmd: cmd, logs: &strings.Builder{}, logsMu: &sync.Mutex{}, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logsMu.Lock()
			p.logs.WriteString(line + "\n")
			p.logsMu.Unlock()
			var entry struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Msg, "cliser ready") {
				ready <- entry.Listen
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() { p.exitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	select {
	case p.addr = <-ready:
	case <-p.exited:
		t.Fatalf("serve exited early: %v\n%s", p.exitErr, p.logText())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve never became ready:\n%s", p.logText())
	}
	return p
}

func (p *servedProcess) logText() string {
	p.logsMu.Lock()
	defer p.logsMu.Unlock()
	return p.logs.String()
}

func (p *servedProcess) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit:\n%s", p.logText())
	}
	return testkit.ExitCode(p.exitErr)
}

func TestBinaryServesHandshakeAndDrainsOnSIGTERM(t *testing.T) {
	dataDir := t.TempDir()
	p := startServe(t, []string{"CLISER_PASSWORD=bin-secret"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dataDir, "--keepalive-interval", "1h")

	conn, err := net.Dial("tcp", p.addr)
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	_, err = conn.Write([]byte("110 bin-secret\n120 bin-client-1\n"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	for _, want := range []string{"110 password\n", "120 id\n"} {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, want, line)
	}
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "140 connected "), line)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "190 server shutting down\n", line)
	assert.Equal(t, 0, p.wait(t), p.logText())

	logs := p.logText()
	assert.Contains(t, logs, `"msg":"client registered"`)
	assert.Contains(t, logs, `"cid":"bin-client-1"`)
	assert.Contains(t, logs, `"reason":"server shutting down"`)
	assert.NotContains(t, logs, "bin-secret", "a password reached the logs")
}

func TestBinaryRefusesToStartWithoutPassword(t *testing.T) {
	cmd := exec.Command(testkit.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = withoutEnv(os.Environ(), "CLISER_PASSWORD")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "no password configured")
	assert.Contains(t, string(out), "CLISER_PASSWORD")
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(testkit.Binary(t), "version").CombinedOutput()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "cliser "), string(out))
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
