package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// An emptied server kept up for the interleaved bursts still spends CPU:
// over 20 s after 5,000 clients left, `cliser serve` took 5.0% of a core
// and floor-server 10.5% (loaded machine, session 14). Four of them beside
// the fifth server's stages and hold would have been load that server
// never had before, and beside every burst, load the bursts never had. So
// a server kept up, and its load processes, are stopped (SIGSTOP) while
// another server is measured, and continued (SIGCONT) for their own
// bursts: each phase runs beside the harness and one server, as before.

// freeze stops the server and its load processes.
func (r *runner) freeze() error { return r.signalAll(syscall.SIGSTOP) }

// thaw continues the server and its load processes.
func (r *runner) thaw() error { return r.signalAll(syscall.SIGCONT) }

func (r *runner) signalAll(sig syscall.Signal) error {
	p, ok := r.srv.(interface{ process() *os.Process })
	if !ok {
		return fmt.Errorf("%s has no process of its own to stop: run it alone (Run)", r.kind)
	}
	errs := []error{p.process().Signal(sig)}
	for _, pid := range r.fleet.PIDs() {
		errs = append(errs, syscall.Kill(pid, sig))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %v: %w", r.kind, sig, err)
	}
	return nil
}

// ownGroup puts a child in a process group of its own. When a group is
// orphaned (no member's parent in another group of the session, as the
// harness's own is when it runs detached: nohup, a job runner), the
// kernel continues every stopped member at once on some exits: a
// monitored compare saw all five servers and their load processes
// running together during a profiled burst. A child's own group has its
// parent, the harness, in another group for as long as the harness lives.
// SIGINT at a terminal then reaches the harness alone, which stops its
// children as on any error.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}
