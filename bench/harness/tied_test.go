package harness

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
)

const tiedEnv = "HARNESS_TIED_CHILD"

// tiedChild is TestChildrenDieWithTheHarness's harness: it starts two
// sleeps, one pinned and one not, from a goroutine whose thread then
// ends, says whether they still run 300 ms after that thread is gone,
// and exits with no cleanup, as a test binary does that panics on its
// -timeout.
func tiedChild() {
	runtime.LockOSThread() // the main thread never ends: keep the goroutine below off it
	type started struct {
		tid  int
		pids []int
	}
	c := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		s := started{tid: syscall.Gettid()}
		usable, err := usableCPUs()
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for _, cpus := range []CPUSet{nil, usable[:1]} {
			cmd := exec.Command("sleep", "60")
			if err := startOn(cmd, cpus); err != nil {
				fmt.Println("start:", err)
				os.Exit(1)
			}
			s.pids = append(s.pids, cmd.Process.Pid)
		}
		c <- s
	}()
	s := <-c
	if !testkit.AwaitThreadEnd(s.tid, 10*time.Second) {
		fmt.Println("the locked goroutine's thread did not end")
		os.Exit(1)
	}
	fmt.Println(s.pids[0], s.pids[1], testkit.RunningFor(300*time.Millisecond, s.pids...))
	os.Exit(0)
}

// The harness's children, pinned or not, are killed when the harness
// ends without its cleanups, and not when the thread that asked for them
// ends. A CI run stopped by killing its test binaries left a `cliser
// serve` of TestSoakSmallWithEveryFeature running.
func TestChildrenDieWithTheHarness(t *testing.T) { testkit.TiedChildren(t, tiedEnv) }
