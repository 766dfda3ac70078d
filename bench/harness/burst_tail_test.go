package harness

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spin burns CPU in this process until it has spent want more than at
// start (polled, so a loaded machine only makes it take longer).
func spin(t *testing.T, want time.Duration) {
	start, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	x := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		for i := range 100_000 {
			x += i ^ x
		}
		s, err := sampleProc(os.Getpid())
		require.NoError(t, err)
		if s.CPU-start.CPU >= want {
			return
		}
	}
	t.Errorf("could not spend %v of CPU in 20s (%d)", want, x)
}

// Work a server does after the last handshake (a write-behind's flush)
// is counted with the burst, and the window ends where that work did.
func TestTailCountsDeferredWork(t *testing.T) {
	end, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		spin(t, 150*time.Millisecond)
	}()
	tl, err := followTail(context.Background(), os.Getpid(), end, 0, time.Now().Add(30*time.Second))
	require.NoError(t, err)
	<-done
	assert.GreaterOrEqual(t, tl.cpu, 0.12, "the deferred 150 ms of CPU, less the polls' rounding")
	assert.True(t, tl.last.At.After(end.At), "the window ends after the last busy poll")
	assert.Less(t, tl.cpu, 5.0)
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
