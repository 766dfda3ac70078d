package tied_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

const tiedEnv = "TIED_CHILD"

func TestMain(m *testing.M) { testkit.ChildMain(m, tiedEnv, tiedChild) }

// tiedChild is the child of TestTiedProcessDiesWithItsTestProcess: it
// starts a sleep tied to it from a goroutine whose thread then exits,
// waits for that thread to be gone, says whether the sleep still runs
// 300 ms later, and exits without any cleanup, as a test binary does that
// panics on its -timeout.
func tiedChild() {
	runtime.LockOSThread() // the main thread is never ended: keep the goroutine below off it
	type started struct{ tid, pid int }
	c := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		cmd := exec.Command("sleep", "60")
		if err := tied.Start(cmd); err != nil {
			fmt.Println("start:", err)
			os.Exit(1)
		}
		c <- started{syscall.Gettid(), cmd.Process.Pid}
	}()
	s := <-c
	if !testkit.AwaitThreadEnd(s.tid, 10*time.Second) {
		fmt.Println("the locked goroutine's thread did not end")
		os.Exit(1)
	}
	fmt.Println(s.pid, testkit.RunningFor(300*time.Millisecond, s.pid))
	os.Exit(0)
}

// A process a helper starts is killed when the test process ends, with
// no cleanup run (a panic on -timeout), and not when the thread that
// asked for it ends. Without Pdeathsig the sleep outlived its parent;
// started on the asking thread, it died with that thread.
func TestTiedProcessDiesWithItsTestProcess(t *testing.T) { testkit.TiedChildren(t, tiedEnv) }
