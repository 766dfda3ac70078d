package benchtest

import (
	"bufio"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cliser/cliser/bench/benchserver"
	"github.com/cliser/cliser/internal/testkit"
)

// Served is a benchserver.RunFunc running in a test, its stdout read line by line.
type Served struct {
	Trigger chan os.Signal
	lines   chan string
	done    chan error
	stop    context.CancelFunc
}

// Start runs run with args in the background until the test ends.
func Start(t testing.TB, run benchserver.RunFunc, args ...string) *Served {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Served{Trigger: make(chan os.Signal, 1), lines: make(chan string, 8), done: make(chan error, 1), stop: cancel}
	go func() { s.done <- run(ctx, args, pw, s.Trigger); _ = pw.Close() }()
	go func() {
		for sc := bufio.NewScanner(pr); sc.Scan(); {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(cancel)
	return s
}

// Next is the next stdout line; the test fails if none comes within 10s.
func (s *Served) Next(t testing.TB) string {
	t.Helper()
	return testkit.Recv(t, s.lines, 10*time.Second, "no stdout line within 10s")
}

// Stop ends run's context and returns what it returned; the test fails if
// it does not return within 15s.
func (s *Served) Stop(t testing.TB) error {
	t.Helper()
	s.stop()
	return testkit.Recv(t, s.done, 15*time.Second, "run did not return after its context ended")
}
