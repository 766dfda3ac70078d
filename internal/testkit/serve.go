package testkit

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/tied"
)

// Served is `cliser serve` running as a subprocess of the test. Its
// methods are safe from any goroutine; Addr and AdminAddr are set before
// Serve returns, ExitErr once Exited is closed.
type Served struct {
	Cmd       *exec.Cmd
	Addr      string // the protocol listener, from the ready line
	AdminAddr string // the admin listener ("off" when disabled)
	Exited    chan struct{}
	ExitErr   error

	mu   sync.Mutex
	logs strings.Builder
}

// Serve runs the built binary as `cliser serve args...` with env added to
// this process's environment, and waits (up to 30s) for its ready log
// line. A serve that exits first fails the test with its logs. The
// process is killed when the test ends.
func Serve(t testing.TB, env []string, args ...string) *Served {
	t.Helper()
	return ServeWrapped(t, nil, env, args...)
}

// ServeWrapped is Serve with the binary run by wrapper, a command that
// execs what follows it (prlimit --nofile=N:N, for a test of the
// descriptor budget): the process, its pid and its signals are cliser's.
func ServeWrapped(t testing.TB, wrapper []string, env []string, args ...string) *Served {
	t.Helper()
	argv := append(append(append([]string{}, wrapper...), Binary(t), "serve"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, tied.Start(cmd))
	p := &Served{Cmd: cmd, Exited: make(chan struct{})}
	type ready struct{ listen, admin string }
	readyc := make(chan ready, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
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
		p.ExitErr = cmd.Wait()
		close(p.Exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.Exited
	})
	select {
	case r := <-readyc:
		p.Addr, p.AdminAddr = r.listen, r.admin
	case <-p.Exited:
		hint := ""
		if strings.Contains(p.LogText(), "address already in use") {
			hint = "\n(another listener has the port, or the old process's connections are in TIME_WAIT on it: " +
				"the reactor's listener needs SO_REUSEADDR, gnet.WithReuseAddr(true) in reactor/server.go Start)"
		}
		t.Fatalf("serve exited early: %v\n%s%s", p.ExitErr, p.LogText(), hint)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve never became ready:\n%s", p.LogText())
	}
	return p
}

// LogText is everything the process logged so far.
func (p *Served) LogText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// WaitExit waits up to 20s for the process to exit.
func (p *Served) WaitExit(t testing.TB) {
	t.Helper()
	select {
	case <-p.Exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit:\n%s", p.LogText())
	}
}

// Wait waits up to 20s for the process to exit and returns its status.
func (p *Served) Wait(t testing.TB) int {
	t.Helper()
	p.WaitExit(t)
	return ExitCode(p.ExitErr)
}
