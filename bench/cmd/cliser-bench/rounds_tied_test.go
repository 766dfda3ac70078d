package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
)

const (
	tiedServeEnv = "CLISER_BENCH_TIED_SERVE"
	tiedBinEnv   = "CLISER_BENCH_TIED_BIN"
	tiedDirEnv   = "CLISER_BENCH_TIED_DIR"
)

// tiedServe is TestRoundServersDieWithTheBench's bench: it starts a
// round's cliser serve from a goroutine whose thread then ends, says
// whether the server runs 300 ms after that, and exits with no cleanup,
// as a bench does that is killed or panics.
func tiedServe() {
	runtime.LockOSThread() // the main thread never ends: keep the goroutine below off it
	type started struct{ tid, pid int }
	c := make(chan started, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread ends with the goroutine
		cmd, _, _, err := startServe(context.Background(), os.Getenv(tiedBinEnv), os.Getenv(tiedDirEnv), nil, nil)
		if err != nil {
			fmt.Println("serve:", err)
			os.Exit(1)
		}
		c <- started{tid: syscall.Gettid(), pid: cmd.Process.Pid}
	}()
	s := <-c
	if !testkit.AwaitThreadEnd(s.tid, 10*time.Second) {
		fmt.Println("the locked goroutine's thread did not end")
		os.Exit(1)
	}
	fmt.Println(s.pid, testkit.RunningFor(300*time.Millisecond, s.pid))
	os.Exit(0)
}

// A round's server dies with the bench, however the bench ends: one
// left serving would load the next round and the machine after it.
func TestRoundServersDieWithTheBench(t *testing.T) {
	bin, dir, _ := endToEnd(t, time.Minute)
	t.Setenv(tiedBinEnv, bin)
	t.Setenv(tiedDirEnv, dir)
	testkit.TiedChildren(t, tiedServeEnv)
}
