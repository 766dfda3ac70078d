package testkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Running says whether process pid exists and is no zombie (killed, not
// yet reaped).
func Running(pid int) bool {
	state := stateOf(fmt.Sprintf("/proc/%d/stat", pid))
	return state != 0 && state != 'Z'
}

// stateOf is the state letter of a /proc stat file (R, S, T, Z...), 0
// when it can not be read (the process or thread is gone).
func stateOf(statPath string) byte {
	stat, err := os.ReadFile(statPath)
	if err != nil {
		return 0
	}
	// "pid (name) S ...": the name may hold spaces and ')', so the last one.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 || end+2 >= len(stat) {
		return 0
	}
	return stat[end+2]
}

// RunningFor says whether every pid still runs after d: a SIGKILL sent
// at its start takes effect within milliseconds.
func RunningFor(d time.Duration, pids ...int) bool {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for _, pid := range pids {
			if !Running(pid) {
				return false
			}
		}
		time.Sleep(5 * time.Millisecond) // polling their state
	}
	return true
}

// AwaitThreadEnd waits up to within for this process's thread tid to end.
func AwaitThreadEnd(tid int, within time.Duration) bool {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); os.IsNotExist(err) {
			return true
		}
		time.Sleep(5 * time.Millisecond) // polling the thread's end
	}
	return false
}

// TiedChildren runs this test binary as a child with env set to 1. The
// child starts processes, prints their pids and whether they ran on after
// the thread that asked for them ended (RunningFor), and exits with no
// cleanup. TiedChildren fails t unless they ran on, and then died with
// the child.
func TiedChildren(t *testing.T, env string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	fields := strings.Fields(string(out))
	require.GreaterOrEqual(t, len(fields), 2, "child said %q", out)
	var pids []int
	for _, f := range fields[:len(fields)-1] {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err, "child said %q", out)
		pids = append(pids, pid)
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	}
	require.Equal(t, "true", fields[len(fields)-1], "a process died with the thread that asked for it")
	require.Eventually(t, func() bool {
		return !slices.ContainsFunc(pids, Running)
	}, 10*time.Second, 10*time.Millisecond, "a process outlived the test process that started it")
}

// TiedChild is TiedChildren's child: start, run on a goroutine whose
// thread then ends, starts processes and gives their pids. TiedChild waits
// for that thread to be gone, prints the pids and whether they ran on
// 300 ms after it, and exits with no cleanup, as a test binary does that
// panics on its -timeout.
func TiedChild(start func() ([]int, error)) {
	runtime.LockOSThread() // the main thread never ends: keep the goroutine below off it
	type started struct {
		tid  int
		pids []int
		err  error
	}
	c := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		pids, err := start()
		c <- started{syscall.Gettid(), pids, err}
	}()
	s := <-c
	if s.err != nil {
		fmt.Println("start:", s.err)
		os.Exit(1)
	}
	if !AwaitThreadEnd(s.tid, 10*time.Second) {
		fmt.Println("the locked goroutine's thread did not end")
		os.Exit(1)
	}
	for _, pid := range s.pids {
		fmt.Print(pid, " ")
	}
	fmt.Println(RunningFor(300*time.Millisecond, s.pids...))
	os.Exit(0)
}

// allThreadsStopped says whether every thread of process pid is in the
// stopped state (T in /proc's stat); false when pid is gone.
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		if stateOf(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name())) != 'T' {
			return false
		}
	}
	return true
}
