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
	"errors"
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

// StartTree is Start for a command whose own children must die with it
// too (make, whose recipe starts the server): cmd is the first process of
// a new PID namespace, and when it ends the kernel kills every process
// in that namespace. Pdeathsig reaches cmd alone. A new namespace needs
// CAP_SYS_ADMIN: without it cmd is started as Start would, and tree is
// false. Safe from any goroutine.
func StartTree(cmd *exec.Cmd) (tree bool, err error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWPID
	err = Start(cmd)
	if errors.Is(err, syscall.EPERM) {
		cmd.SysProcAttr.Cloneflags &^= syscall.CLONE_NEWPID
		return false, Start(cmd)
	}
	return err == nil, err
}
