package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spin burns CPU in this process until it has spent want more than at
// start (polled, so a loaded machine only makes it take longer); atMark,
// when given, runs once mark of it is spent.
func spin(t *testing.T, want, mark time.Duration, atMark func()) {
	start, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	x := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		for i := range 100_000 {
			x += i ^ x
		}
		s, err := sampleProc(os.Getpid())
		require.NoError(t, err)
		if atMark != nil && s.CPU-start.CPU >= mark {
			atMark()
			atMark = nil
		}
		if s.CPU-start.CPU >= want {
			return
		}
	}
	t.Errorf("could not spend %v of CPU in 20s (%d)", want, x)
}

// stopThisProcess has a child stop this process (SIGSTOP) for d and let
// it go on (SIGCONT): the harness and the server both held off the CPU,
// as a loaded machine does to them at times.
func stopThisProcess(t *testing.T, d time.Duration) {
	cmd := exec.Command("sh", "-c", fmt.Sprintf("kill -STOP %[1]d; sleep %[2]f; kill -CONT %[1]d", os.Getpid(), d.Seconds()))
	assert.NoError(t, cmd.Run())
}

// tailOfDeferredWork follows this process's tail from now while it
// spends 150 ms of CPU (spin's mark and atMark), as a server's deferred
// work after the last handshake.
func tailOfDeferredWork(t *testing.T, mark time.Duration, atMark func()) (end procSample, tl tail) {
	end, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		spin(t, 150*time.Millisecond, mark, atMark)
	}()
	tl, err = followTail(context.Background(), os.Getpid(), end, 0, time.Now().Add(30*time.Second))
	require.NoError(t, err)
	<-done
	return end, tl
}

// Work a server does after the last handshake (a write-behind's flush)
// is counted with the burst, and the window ends where that work did.
func TestTailCountsDeferredWork(t *testing.T) {
	end, tl := tailOfDeferredWork(t, 0, nil)
	assert.GreaterOrEqual(t, tl.cpu, 0.12, "the deferred 150 ms of CPU, less the polls' rounding")
	assert.True(t, tl.last.At.After(end.At), "the window ends after the last busy poll")
	assert.Less(t, tl.cpu, 5.0)
}

// A stall in the middle of that work does not end the tail: the poll
// after it is late, and spans tailQuiet alone, but it is one quiet poll,
// not tailQuietPolls of them. (Ended there, a loaded machine's tail
// counted 0.02-0.05 s of the 150 ms.)
func TestTailOutlastsAStallOfTheMachine(t *testing.T) {
	_, tl := tailOfDeferredWork(t, 30*time.Millisecond, func() { stopThisProcess(t, time.Second) })
	assert.GreaterOrEqual(t, tl.cpu, 0.12, "the deferred 150 ms of CPU, the stall's second before the last of it")
}

// A quiet server adds nothing, and the tail stops once it has been quiet
// for tailQuiet; the limit (the burst's first keep-alives) ends it early.
// The quiet server is a sleeping child: this test process is not quiet
// (the race detector and earlier tests' leftovers ran 0.18 s of CPU in one
// tail on a clean-clone CI).
func TestTailOfAQuietServerIsEmpty(t *testing.T) {
	quiet := exec.Command("sleep", "60")
	require.NoError(t, quiet.Start())
	t.Cleanup(func() { _ = quiet.Process.Kill(); _ = quiet.Wait() })
	pid := quiet.Process.Pid
	idle, err := idleRate(context.Background(), pid)
	require.NoError(t, err)
	end, err := sampleProc(pid)
	require.NoError(t, err)
	start := time.Now()
	tl, err := followTail(context.Background(), pid, end, idle, time.Now().Add(30*time.Second))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), tailQuiet-tailPoll, "it waited for a quiet stretch")
	assert.Less(t, tl.cpu, 0.05, "a sleeping process")

	tl, err = followTail(context.Background(), pid, end, 0, time.Now())
	require.NoError(t, err)
	assert.Equal(t, end, tl.last, "past the limit, the window ends at the last handshake")
	assert.Zero(t, tl.cpu)
}

// A burst's figures hold keep-alive CPU only when a keep-alive came
// before the figures' last sample.
func TestInWindowIsBeforeTheFiguresEnd(t *testing.T) {
	end := time.Unix(0, 1_000)
	assert.False(t, inWindow(0, end), "no keep-alive yet")
	assert.True(t, inWindow(999, end))
	assert.False(t, inWindow(1_000, end))
	assert.False(t, inWindow(1_500, end), "after the window: not in the figures")
}
