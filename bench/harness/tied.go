package harness

import (
	"fmt"
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cliser/cliser/internal/tied"
)

// The harness's children die with it (internal/tied): a CI run killed by
// hand left its server serving and its load processes dialling. Their
// forking thread is also the one given a pinned child's CPUs (a child
// inherits its forking thread's affinity), and each fork sets them
// afresh: the harness's own CPUs when the child is not pinned.

var (
	ownOnce sync.Once
	own     unix.CPUSet // the forking thread's CPUs before any fork set them
	ownErr  error
)

// StartTied starts cmd on cpus (the harness's own when empty), to be
// killed when this process ends. Goroutine-safe.
func StartTied(cmd *exec.Cmd, cpus CPUSet) error {
	return tied.StartWith(cmd, func() error { return placeFork(cpus) })
}

// placeFork gives the forking thread, on which it runs, cpus.
func placeFork(cpus CPUSet) error {
	ownOnce.Do(func() {
		if ownErr = unix.SchedGetaffinity(0, &own); ownErr != nil {
			ownErr = fmt.Errorf("sched_getaffinity: %w", ownErr)
		}
	})
	if ownErr != nil {
		return ownErr
	}
	set := own
	if len(cpus) > 0 {
		set = unix.CPUSet{}
		for _, c := range cpus {
			set.Set(c)
		}
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("sched_setaffinity %s: %w", cpus, err)
	}
	return nil
}
