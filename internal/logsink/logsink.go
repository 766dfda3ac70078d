// Package logsink is the process log's destination (stderr) with its
// failures kept: a log that cannot be written says so where an operator
// still looks, in /readyz and /metrics, since it cannot say so in itself.
// Its writes never stop the process: `cliser serve` ignores SIGPIPE, so a
// log pipe whose reader went away (a shipper restarting, `| head`) is a
// write error here, not the end of every client's connection.
package logsink

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/prom"
)

// MetricLogWriteErrors counts log lines the process could not write.
const MetricLogWriteErrors = "cliser_log_write_errors_total"

// Sink writes log lines to w and remembers whether the last failed. Safe
// for concurrent use: it writes one line at a time, so lines do not
// interleave and Health follows the order of the writes.
//
// A write waits for its line to be written at most writeWait. Past it the
// line is left to the write under way and every later line is dropped,
// counted and said in Health, until that write returns: a reader of the
// pipe that stopped reading without closing it (a log shipper hung, a
// terminal's output paused) held every goroutine that logs, the event
// loops among them, so handshakes and keep-alives stopped while /healthz
// and /readyz said all was well, and a SIGTERM never began its drain
// (audit: 156 handshakes, then none, with stderr a FIFO nobody read).
type Sink struct {
	w      io.Writer
	name   string
	errors prometheus.Counter

	writing sync.Mutex  // one line at a time, each noted before the next
	lines   chan []byte // to the goroutine that writes them (run)
	done    chan error  // its outcome, when the line's Write still waits for it
	buf     []byte      // the line handed over: the writer's until it is noted
	timer   *time.Timer // writeWait of the line's Write

	mu         sync.Mutex // guards the state below; held across no write
	since      time.Time  // the first failure of the failures now running; zero when writes work
	lost       uint64     // lines lost since then
	lastErr    error
	stuckSince time.Time // a write that has not returned within writeWait began then; zero when none
}

// writeWait is how long a log line may wait for its write before the
// sink takes the reader as stuck: far above a pipe that is read, short
// enough that an event loop waiting on it misses no keep-alive.
const writeWait = time.Second

// New is a sink writing to w, which name names in Health's text.
func New(w io.Writer, name string) *Sink {
	s := &Sink{w: w, name: name, errors: prom.Counter(MetricLogWriteErrors,
		"Log lines the process could not write (its stderr closed or full, or not read for a second); /readyz says since when."),
		lines: make(chan []byte), done: make(chan error, 1), timer: time.NewTimer(writeWait)}
	s.timer.Stop()
	go s.run()
	return s
}

// Write writes p, one encoded line, and notes its failure. Writes take
// turns: a line written before a pipe closed, noted late, would clear
// the failure of the line after it. Health does not wait on a write
// stuck in a full pipe, and neither does a Write past writeWait: it
// returns, the line left to that write, and the lines after it are
// dropped until it returns.
func (s *Sink) Write(p []byte) (int, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	s.mu.Lock()
	if !s.stuckSince.IsZero() {
		s.lostLine(errStuck)
		s.mu.Unlock()
		return len(p), nil // an error would have zap write to the same stuck stderr
	}
	s.mu.Unlock()
	s.buf = append(s.buf[:0], p...) // p is the caller's again once Write returns
	s.lines <- s.buf
	s.timer.Reset(writeWait)
	select {
	case err := <-s.done:
		s.timer.Stop()
		return s.result(p, err)
	case <-s.timer.C:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case err := <-s.done: // it returned as the wait ended
		return s.result(p, err)
	default:
	}
	s.stuckSince = time.Now().Add(-writeWait)
	return len(p), nil
}

func (s *Sink) result(p []byte, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// errStuck is what a line dropped while a write does not return was lost to.
var errStuck = errors.New("a write has not returned within " + writeWait.String() + ": its reader does not read")

// run writes the lines Write hands over and notes each outcome: to the
// Write still waiting for it, else (the write was stuck) by itself.
func (s *Sink) run() {
	for line := range s.lines {
		_, err := s.w.Write(line)
		s.mu.Lock()
		s.note(err)
		if s.stuckSince.IsZero() {
			s.done <- err // its Write waits (or will look, under s.mu)
		} else {
			s.stuckSince = time.Time{}
		}
		s.mu.Unlock()
	}
}

// note keeps the outcome of the newest write. s.mu is held.
func (s *Sink) note(err error) {
	switch {
	case err != nil:
		s.lostLine(err)
	case !s.since.IsZero():
		s.since, s.lost, s.lastErr = time.Time{}, 0, nil
	}
}

// lostLine counts a line not written for err. s.mu is held.
func (s *Sink) lostLine(err error) {
	s.errors.Inc()
	if s.since.IsZero() {
		s.since = time.Now()
		if !s.stuckSince.IsZero() {
			s.since = s.stuckSince
		}
	}
	s.lost++
	s.lastErr = err
}

// Sync does nothing: stderr is not buffered, and fsync of a pipe or a
// terminal only fails.
func (s *Sink) Sync() error { return nil }

// Health is nil while log lines are written, else what fails since when.
func (s *Sink) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stuckSince.IsZero() {
		return fmt.Errorf("log: a write to %s has not returned since %s (its reader does not read); %d lines dropped meanwhile (the process goes on serving)",
			s.name, s.stuckSince.UTC().Format(time.RFC3339), s.lost)
	}
	if s.since.IsZero() {
		return nil
	}
	return fmt.Errorf("log: writes to %s fail since %s: %v; %d lines lost (the process goes on serving)",
		s.name, s.since.UTC().Format(time.RFC3339), s.lastErr, s.lost)
}

// Collector is the sink's counter of lines it could not write.
func (s *Sink) Collector() prometheus.Collector { return s.errors }
