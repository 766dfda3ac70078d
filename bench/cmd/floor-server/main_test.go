package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// served is run in the background, its stdout read line by line.
type served struct {
	lines   chan string
	trigger chan os.Signal
	done    chan error
	stop    context.CancelFunc
}

func serve(t *testing.T, args ...string) *served {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{lines: make(chan string, 8), trigger: make(chan os.Signal, 1), done: make(chan error, 1), stop: cancel}
	go func() { s.done <- run(ctx, args, pw, s.trigger); _ = pw.Close() }()
	go func() {
		for sc := bufio.NewScanner(pr); sc.Scan(); {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(cancel)
	return s
}

func (s *served) next(t *testing.T) string {
	select {
	case l := <-s.lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no stdout line within 10s")
		return ""
	}
}

// The harness's contract, as baseline-bench-server's: the address on the
// first line, SIGUSR1 → "130 shutdown bench" to every client and "shutdown
// sent N", and a stop when the context ends.
func TestFloorServerHarnessContract(t *testing.T) {
	t.Setenv("CLISER_PASSWORD", "pw")
	s := serve(t, "--keepalive-interval", "1h")
	addr, ok := strings.CutPrefix(s.next(t), "listening on ")
	require.True(t, ok)

	c := testkit.Dial(t, addr)
	c.Register("pw", "dev-1")
	s.trigger <- os.Interrupt
	assert.Equal(t, "shutdown sent 1", s.next(t))
	c.Expect("130 shutdown " + ShutdownText)
	c.Send("130 ok\n")
	c.ExpectClosed()

	s.stop()
	select {
	case err := <-s.done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestFloorServerUsageMistakesExit2(t *testing.T) {
	t.Setenv("CLISER_PASSWORD", "")
	err := run(context.Background(), nil, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set CLISER_PASSWORD")
	assert.Equal(t, 2, exitCode(err))

	t.Setenv("CLISER_PASSWORD", "pw")
	assert.Equal(t, 2, exitCode(run(context.Background(), []string{"extra"}, io.Discard, nil)))
	assert.Equal(t, 2, exitCode(run(context.Background(), []string{"--keepalive-interval", "soon"}, io.Discard, nil)))
}
