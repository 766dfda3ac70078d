package testkit

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/tied"
)

// Process is a long-running cliser command other than serve (the agent)
// as a subprocess of the test, its stdout and stderr kept together. Its
// methods are safe from any goroutine; ExitErr is set once Exited is
// closed.
type Process struct {
	Cmd     *exec.Cmd
	Exited  chan struct{}
	ExitErr error
	logs    LockedBuffer
}

// Start runs the cliser binary with args; env is its whole environment
// (build it with Environ). The process is killed when the test ends.
func Start(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = env
	p := &Process{Cmd: cmd, Exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	require.NoError(t, tied.Start(cmd))
	go func() { p.ExitErr = cmd.Wait(); close(p.Exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.Exited
	})
	return p
}

// LogText is everything the process wrote so far.
func (p *Process) LogText() string { return p.logs.String() }

// Wait waits up to 20s for the process to exit and returns its status.
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.Exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%v did not exit:\n%s", p.Cmd.Args[1:], p.LogText())
	}
	return ExitCode(p.ExitErr)
}

// RequireRunning fails the test, saying why, if the process has exited.
func (p *Process) RequireRunning(t testing.TB, why string) {
	t.Helper()
	select {
	case <-p.Exited:
		t.Fatalf("%s:\n%s", why, p.LogText())
	default:
	}
}

// Stop sends sig (SIGTERM when nil) and returns the exit status.
func (p *Process) Stop(t testing.TB, sig os.Signal) int {
	t.Helper()
	if sig == nil {
		sig = syscall.SIGTERM
	}
	require.NoError(t, p.Cmd.Process.Signal(sig))
	return p.Wait(t)
}
