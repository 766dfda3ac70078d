package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// servedProcess is `cliser serve` as a subprocess.
type servedProcess struct {
	cmd       *exec.Cmd
	addr      string // the protocol listener, from the ready line
	adminAddr string
	logs      *strings.Builder
	logsMu    *sync.Mutex
	exited    chan struct{}
	exitErr   error
}

// startServe runs `cliser serve args...` with env added, and waits for its
// ready log line. A serve that exits first fails the test with its logs.
func startServe(t *testing.T, env []string, args ...string) *servedProcess {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &servedProcess{cmd: cmd, logs: &strings.Builder{}, logsMu: &sync.Mutex{}, exited: make(chan struct{})}
	type ready struct{ listen, admin string }
	readyc := make(chan ready, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logsMu.Lock()
			p.logs.WriteString(line + "\n")
			p.logsMu.Unlock()
			var entry struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
				Admin  string `json:"admin"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Msg, "cliser ready") {
				readyc <- ready{entry.Listen, entry.Admin}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	select {
	case r := <-readyc:
		p.addr, p.adminAddr = r.listen, r.admin
	case <-p.exited:
		hint := ""
		if strings.Contains(p.logText(), "address already in use") {
			hint = "\n(the old process's connections are in TIME_WAIT on this port: the reactor's listener needs SO_REUSEADDR, gnet.WithReuseAddr(true) in reactor/server.go Start)"
		}
		t.Fatalf("serve exited early: %v\n%s%s", p.exitErr, p.logText(), hint)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve never became ready:\n%s", p.logText())
	}
	return p
}

func (p *servedProcess) logText() string {
	p.logsMu.Lock()
	defer p.logsMu.Unlock()
	return p.logs.String()
}

func (p *servedProcess) waitExit(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit:\n%s", p.logText())
	}
}

// freePort finds a port nobody listens on, for a server that must come
// back on the same one.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
