package logsink

import (
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flaky fails its writes while err is set.
type flaky struct{ err error }

func (f *flaky) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	return len(p), nil
}

// Failed writes are counted and said in Health, with since when and how
// many lines; once a write goes through again, Health is nil and the
// count stays.
func TestSinkKeepsItsFailures(t *testing.T) {
	w := &flaky{}
	s := New(w, "stderr")
	_, err := s.Write([]byte("a\n"))
	require.NoError(t, err)
	require.NoError(t, s.Health())

	w.err = syscall.EPIPE
	for range 3 {
		_, err = s.Write([]byte("b\n"))
		assert.True(t, errors.Is(err, syscall.EPIPE))
	}
	h := s.Health()
	require.Error(t, h)
	assert.Contains(t, h.Error(), "log: writes to stderr fail since ")
	assert.Contains(t, h.Error(), "broken pipe; 3 lines lost")
	assert.Equal(t, 3.0, testutil.ToFloat64(s.errors))

	w.err = nil
	_, err = s.Write([]byte("c\n"))
	require.NoError(t, err)
	assert.NoError(t, s.Health(), "writes work again")
	assert.Equal(t, 3.0, testutil.ToFloat64(s.errors), "a counter only grows")
}

// stalled lets its first write through only when released; every later
// write fails.
type stalled struct {
	entered, release chan struct{}
	calls            int
}

func (w *stalled) Write(p []byte) (int, error) {
	w.calls++
	if w.calls == 1 {
		close(w.entered)
		<-w.release
		return len(p), nil
	}
	return 0, syscall.EPIPE
}

// A line that went out before the pipe closed, but whose writer is slow
// to note it, does not clear the failure of a line written after it:
// the sink's state follows the order of the writes. Before, a write
// stalled between its syscall and the sink's lock cleared a newer
// broken pipe, and /readyz said nothing while lines were lost. Health
// does not wait for the stuck write.
func TestSinkKeepsTheNewestWritesOutcome(t *testing.T) {
	w := &stalled{entered: make(chan struct{}), release: make(chan struct{})}
	s := New(w, "stderr")
	first := make(chan error, 1)
	go func() { _, err := s.Write([]byte("before the close\n")); first <- err }()
	<-w.entered
	health := make(chan error, 1)
	go func() { health <- s.Health() }()
	select {
	case err := <-health:
		require.NoError(t, err, "no write has failed yet")
	case <-time.After(10 * time.Second):
		t.Fatal("Health waits on a write stuck in its syscall (a full pipe would hang /readyz)")
	}
	second := make(chan error, 1)
	go func() { _, err := s.Write([]byte("after the close\n")); second <- err }()
	select {
	case err := <-second:
		t.Fatalf("a write finished while an earlier one was still in its syscall: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(w.release)
	require.NoError(t, <-first)
	require.ErrorIs(t, <-second, syscall.EPIPE)
	assert.Error(t, s.Health(), "the newest write failed")
}

// A pipe whose reader stops reading without closing it (a log shipper
// hung) does not hold the writers: once a write has waited writeWait,
// the lines after it are dropped at once, counted, and Health says the
// reader does not read; once it reads again, so do the lines. Before, a
// full pipe held every goroutine that logs, the event loops among them:
// handshakes stopped while /healthz and /readyz said all was well.
func TestSinkDoesNotWaitOnAPipeNobodyReads(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	s := New(w, "stderr")
	line := []byte(strings.Repeat("x", 1023) + "\n")
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for range 1000 { // 1 MB: many times a pipe's buffer
			_, _ = s.Write(line)
		}
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the writes wait on the pipe nobody reads")
	}
	h := s.Health()
	require.Error(t, h, "lines were dropped and Health did not say so")
	assert.Contains(t, h.Error(), "log: a write to stderr has not returned since ")
	assert.Contains(t, h.Error(), "its reader does not read")
	assert.Greater(t, testutil.ToFloat64(s.errors), 0.0, "the dropped lines are counted")

	go func() { _, _ = io.Copy(io.Discard, r) }() // the reader is back
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() != nil {
		require.True(t, time.Now().Before(deadline), "Health still says %v with the pipe read again", s.Health())
		_, _ = s.Write([]byte("again\n"))
		time.Sleep(10 * time.Millisecond)
	}
	_, err = s.Write([]byte("written\n"))
	require.NoError(t, err)
}
