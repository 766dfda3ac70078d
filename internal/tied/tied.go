// Package tied starts child processes that the kernel kills when this
// process ends, cleanups run or not: a test binary that panicked on its
// -timeout left its servers serving (one 100 minutes later), and a CI run
// killed by hand left the bench harness's.
//
// Linux sends that signal (Pdeathsig) when the *thread* that forked the
// child exits, not the process, and Go ends a thread whose locked
// goroutine returns: so every child is forked on one thread, locked to a
// goroutine that never returns.
package tied

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

var (
	once sync.Once
	runs chan func()
)

// Thread names the goroutine that forks every tied child and lives as
// long as the process: a goroutine leak check ignores it
// (goleak.IgnoreTopFunction).
const Thread = "github.com/cliser/cliser/internal/tied.thread"

// thread runs the forks, on a thread of its own for good: this thread is
// every tied child's parent.
func thread() {
	runtime.LockOSThread()
	for f := range runs {
		f()
	}
}

// Start starts cmd so that it is killed when this process ends. Safe
// from any goroutine.
func Start(cmd *exec.Cmd) error { return StartWith(cmd, nil) }

// StartWith is Start with before run first on the forking thread, whose
// state (its CPU affinity, which the child inherits) it may set: that
// state stays the thread's for the next start. An error from before
// starts nothing. Safe from any goroutine.
func StartWith(cmd *exec.Cmd, before func() error) error {
	once.Do(func() {
		runs = make(chan func())
		go thread()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	runs <- func() {
		if before != nil {
			if err := before(); err != nil {
				done <- err
				return
			}
		}
		done <- cmd.Start()
	}
	return <-done
}
