package harness

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A harness killed without its cleanups (a test binary's -timeout panic,
// kill -9 of a CI run) left its server serving and its load processes
// dialling. So every child gets Pdeathsig SIGKILL. Linux sends it when
// the *thread* that forked the child exits, and Go ends a thread whose
// locked goroutine returns: so every child is forked by one goroutine
// locked to its thread for good. That thread is also the one given a
// pinned child's CPUs for the fork (a child inherits its forking thread's
// affinity), and each fork sets them afresh: the harness's own CPUs when
// the child is not pinned.

var (
	forkerOnce sync.Once
	forks      chan fork
	forkerErr  error // the forker's own CPUs unread: no fork can be placed
)

type fork struct {
	cmd  *exec.Cmd
	cpus CPUSet // empty: the CPUs the harness had when the forker began
	done chan error
}

// forker runs every fork on its thread, which it never gives back.
func forker(ready chan<- error) {
	runtime.LockOSThread()
	var own unix.CPUSet
	err := unix.SchedGetaffinity(0, &own)
	if err != nil {
		err = fmt.Errorf("sched_getaffinity: %w", err)
	}
	ready <- err
	for f := range forks {
		f.done <- forkOn(f, own)
	}
}

func forkOn(f fork, own unix.CPUSet) error {
	set := own
	if len(f.cpus) > 0 {
		set = unix.CPUSet{}
		for _, c := range f.cpus {
			set.Set(c)
		}
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity %s: %w", f.cpus, err)
	}
	return f.cmd.Start()
}

// StartTied starts cmd on cpus (the harness's own when empty), to be
// killed when this process ends. Goroutine-safe.
func StartTied(cmd *exec.Cmd, cpus CPUSet) error {
	forkerOnce.Do(func() {
		forks = make(chan fork)
		ready := make(chan error, 1)
		go forker(ready)
		forkerErr = <-ready
	})
	if forkerErr != nil {
		return forkerErr
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	forks <- fork{cmd, cpus, done}
	return <-done
}
