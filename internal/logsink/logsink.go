// Package logsink is the process log's destination (stderr) with its
// failures kept: a log that cannot be written says so where an operator
// still looks, in /readyz and /metrics, since it cannot say so in itself.
// Its writes never stop the process: `cliser serve` ignores SIGPIPE, so a
// log pipe whose reader went away (a shipper restarting, `| head`) is a
// write error here, not the end of every client's connection.
package logsink

import (
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
type Sink struct {
	w      io.Writer
	name   string
	errors prometheus.Counter

	writing sync.Mutex // one line at a time, each noted before the next
	mu      sync.Mutex // guards the state below; held across no write
	since   time.Time  // the first failure of the failures now running; zero when writes work
	lost    uint64     // lines lost since then
	lastErr error
}

// New is a sink writing to w, which name names in Health's text.
func New(w io.Writer, name string) *Sink {
	return &Sink{w: w, name: name, errors: prom.Counter(MetricLogWriteErrors,
		"Log lines the process could not write (its stderr closed or full); /readyz says since when.")}
}

// Write writes p, one encoded line, and notes its failure. Writes take
// turns: a line written before a pipe closed, noted late, would clear
// the failure of the line after it. Health does not wait on a write
// stuck in a full pipe.
func (s *Sink) Write(p []byte) (int, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	n, err := s.w.Write(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.errors.Inc()
		if s.since.IsZero() {
			s.since = time.Now()
		}
		s.lost++
		s.lastErr = err
	case !s.since.IsZero():
		s.since, s.lost, s.lastErr = time.Time{}, 0, nil
	}
	return n, err
}

// Sync does nothing: stderr is not buffered, and fsync of a pipe or a
// terminal only fails.
func (s *Sink) Sync() error { return nil }

// Health is nil while log lines are written, else what fails since when.
func (s *Sink) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since.IsZero() {
		return nil
	}
	return fmt.Errorf("log: writes to %s fail since %s: %v; %d lines lost (the process goes on serving)",
		s.name, s.since.UTC().Format(time.RFC3339), s.lastErr, s.lost)
}

// Collector is the sink's counter of lines it could not write.
func (s *Sink) Collector() prometheus.Collector { return s.errors }
