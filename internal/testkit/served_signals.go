package testkit

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Signal sends sig to the serve process and fails the test if it cannot
// be sent. Safe from any goroutine.
func (p *Served) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	require.NoError(t, p.Cmd.Process.Signal(sig))
}

// Terminate sends SIGTERM, the graceful stop, and returns at once: the
// test can watch its clients drain before it calls Wait.
func (p *Served) Terminate(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
}

// Reload sends SIGHUP, which rereads the password file.
func (p *Served) Reload(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGHUP)
}

// Stop sends SIGTERM and waits (up to 20s) for the exit; it returns the
// exit status, 0 for a clean stop.
func (p *Served) Stop(t testing.TB) int {
	t.Helper()
	p.Terminate(t)
	return p.Wait(t)
}

// Pause stops the serve process (SIGSTOP) and waits, up to 10 s, until
// every one of its threads is stopped: kill(2) returns before the kernel
// has stopped them, and on a loaded machine a thread already woken by a
// packet can answer it first. Safe from any goroutine.
func (p *Served) Pause(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGSTOP)
	require.Eventually(t, func() bool { return allThreadsStopped(p.Cmd.Process.Pid) },
		10*time.Second, 5*time.Millisecond, "the serve process did not stop on SIGSTOP")
}

// Resume lets a paused serve process run again (SIGCONT).
func (p *Served) Resume(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGCONT)
}
