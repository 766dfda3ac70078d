package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const tiedEnv = "TESTKIT_TIED_CHILD"

func TestMain(m *testing.M) { ChildMain(m, tiedEnv, tiedChild) }

// tiedChild is the child of TestTiedProcessDiesWithItsTestProcess: it
// starts a sleep tied to it from a goroutine whose thread then exits,
// waits for that thread to be gone, says whether the sleep still runs
// 300 ms later,
// and exits without any cleanup, as a test binary does that panics on
// its -timeout.
func tiedChild() {
	runtime.LockOSThread() // the main thread is never ended: keep the goroutine below off it
	type started struct{ tid, pid int }
	c := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		cmd := exec.Command("sleep", "60")
		if err := startTied(cmd); err != nil {
			fmt.Println("start:", err)
			os.Exit(1)
		}
		c <- started{syscall.Gettid(), cmd.Process.Pid}
	}()
	s := <-c
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", s.tid)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			fmt.Println("the locked goroutine's thread did not end")
			os.Exit(1)
		}
		time.Sleep(5 * time.Millisecond) // polling the thread's end
	}
	// A SIGKILL sent as the thread ended takes effect within
	// milliseconds; a tied sleep is still running after 300 ms.
	alive := true
	for end := time.Now().Add(300 * time.Millisecond); alive && time.Now().Before(end); {
		alive = running(s.pid)
		time.Sleep(5 * time.Millisecond) // polling the sleep's state
	}
	fmt.Println(s.pid, alive)
	os.Exit(0)
}

// running: pid exists and is no zombie (killed, not yet reaped).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

// A process a helper starts is killed when the test process ends, with
// no cleanup run (a panic on -timeout), and not when the thread that
// asked for it ends. Without Pdeathsig the sleep outlived its parent;
// started on the asking thread, it died with that thread.
func TestTiedProcessDiesWithItsTestProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), tiedEnv+"=1")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var pid int
	var alive bool
	_, err = fmt.Sscan(string(out), &pid, &alive)
	require.NoError(t, err, "child said %q", out)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.True(t, alive, "the sleep died with the thread that started it")
	require.Eventually(t, func() bool { return !running(pid) }, 10*time.Second, 10*time.Millisecond,
		"the sleep outlived the test process that started it")
}
