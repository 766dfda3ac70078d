package testkit

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// A test binary that panics on its -timeout runs no cleanup: the servers
// it started lived on (one was found still serving 100 minutes later),
// holding ports and CPU for the packages after it. So the processes the
// helpers start are killed by the kernel when the test process ends.
// Linux sends that signal (Pdeathsig) when the thread that forked the
// child exits, not the process, and Go ends a thread whose locked
// goroutine exits: so every start is made on one thread, locked to a
// goroutine that never returns.

var (
	tiedOnce sync.Once
	tiedRuns chan func()
)

// TiedParent names the goroutine that starts the helpers' processes and
// lives as long as the test process: a goroutine leak check ignores it
// (goleak.IgnoreTopFunction).
const TiedParent = "github.com/cliser/cliser/internal/testkit.tiedParent"

// tiedParent runs the starts, on a thread of its own for good: this
// thread is every tied child's parent.
func tiedParent() {
	runtime.LockOSThread()
	for f := range tiedRuns {
		f()
	}
}

// StartTied starts cmd so that it is killed when this process ends.
// Safe from any goroutine.
func StartTied(cmd *exec.Cmd) error {
	tiedOnce.Do(func() {
		tiedRuns = make(chan func())
		go tiedParent()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	tiedRuns <- func() { done <- cmd.Start() }
	return <-done
}
