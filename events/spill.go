package events

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/natskey"
)

// The spill: a cluster node stopped while NATS is away kept its queued
// events only in memory, and lost them at exit. With a spill file the
// stop writes them there (one JSON event a line, as published, ids
// included). The next start reads them at the open and publishes them,
// under the same ids, once the node has weighed their session ends
// against its records (ReleaseSpill), and removes the file once
// JetStream has acknowledged them all. A single node has none: its log's
// writes fail on the disk the spill would go to.

// SpillFile is the name of node's spill file in the data dir.
func SpillFile(node string) string {
	name := natskey.Escape(node)
	if len(name) > 128 { // a file name holds 255 bytes
		sum := sha256.Sum256([]byte(node))
		name = name[:64] + "-" + hex.EncodeToString(sum[:8])
	}
	return "events-" + name + ".spill"
}

// WithSpill keeps the events a stop could not publish in the file at path
// rather than losing them. Those a previous stop kept there are read at
// the open and published once the node releases them (ReleaseSpill),
// which first weighs them against the records (SpilledEnds).
func WithSpill(path string) StreamOption { return func(o *streamOptions) { o.spill = path } }

// spillState is the events a previous stop kept: held from the open until
// ReleaseSpill, then pending until the writer has stored them.
type spillState struct {
	mu       sync.Mutex
	read     bool    // a spill file was read at the open
	released bool    // ReleaseSpill ran
	held     []Event // read, not yet released
	pending  bool    // released, the file still there
	target   uint64  // the queue's accepted count with the kept ones in it
}

// readSpill holds the events a previous stop kept in the spill file, if
// any. A file that does not parse is an error: the start stops rather
// than lose or skip what it holds.
func (s *Stream) readSpill() error {
	if s.sopts.spill == "" {
		return nil
	}
	b, err := os.ReadFile(s.sopts.spill)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("events: spill file: %w", err)
	}
	evs, err := decodeSpill(b)
	if err != nil {
		return fmt.Errorf("events: spill file %s: %w (it holds events a stop could not publish; move it aside to start without them)", s.sopts.spill, err)
	}
	s.sp.read, s.sp.held = true, evs
	s.opts.log.Info("events: the last stop kept events in the spill file; they are published once the node has started",
		zap.String("file", s.sopts.spill), zap.Int("events", len(evs)))
	return nil
}

// SpilledEnds are the client.disconnected events of the spill file read
// at the open, not yet released: a restart weighs them against the
// records its earlier run left (cluster.Node.SetSessionEnds). Safe from
// any goroutine.
func (s *Stream) SpilledEnds() []Event {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	var ends []Event
	for _, ev := range s.sp.held {
		if ev.Type == TypeDisconnected {
			ends = append(ends, ev)
		}
	}
	return ends
}

// ReleaseSpill queues the events read from the spill file for which keep
// is true (all with a nil keep), under the ids they had, and removes the
// file once they are stored. An event not kept is one the cluster already
// has in another form (a session another node ended). They are queued
// past the queue's limit: two stops in a row with NATS away can spill
// more than it holds, and a full queue dropped the rest while the file
// went (mutation audit). Only the first call does anything; a stop before
// it, or one under way, leaves the file as it was. Safe from any
// goroutine.
func (s *Stream) ReleaseSpill(keep func(Event) bool) {
	s.sp.mu.Lock()
	if !s.sp.read || s.sp.released {
		s.sp.mu.Unlock()
		return
	}
	var kept []Event
	for _, ev := range s.sp.held {
		if keep == nil || keep(ev) {
			kept = append(kept, ev)
		}
	}
	if !s.q.pushKept(kept) {
		s.sp.mu.Unlock()
		return // closed: the stop's spill writes held back to the file
	}
	dropped := len(s.sp.held) - len(kept)
	s.sp.released = true
	s.sp.held, s.sp.pending, s.sp.target = nil, true, s.q.acceptedCount()
	s.sp.mu.Unlock()
	s.opts.log.Info("events: publishing the events the last stop kept in the spill file",
		zap.String("file", s.sopts.spill), zap.Int("events", len(kept)),
		zap.Int("left_out", dropped)) // ends the cluster already has
	if len(kept) == 0 {
		s.spillPublished()
	}
}

// decodeSpill reads a spill file's events, one JSON event a line.
func decodeSpill(b []byte) ([]Event, error) {
	var evs []Event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		// A line that parses is not yet an event: a hand-edited "{}" went
		// into the cluster's log (and to the webhook) with no type and no
		// time. A stop writes every event with both.
		if !slices.Contains(Types, ev.Type) {
			return nil, fmt.Errorf("line %d: event type %q is not one of cliser's", line, ev.Type)
		}
		if ev.Time.IsZero() {
			return nil, fmt.Errorf("line %d: event without a time", line)
		}
		ev.Seq = 0 // the stream gives it
		evs = append(evs, ev)
	}
	return evs, sc.Err()
}

// spillPublished removes the spill file once the events released from it
// are stored (the writer calls it after each acknowledged batch).
func (s *Stream) spillPublished() {
	s.sp.mu.Lock()
	done := s.sp.pending && s.stored.n.Load() >= s.sp.target
	if done {
		s.sp.pending = false
	}
	s.sp.mu.Unlock()
	if !done {
		return
	}
	if err := os.Remove(s.sopts.spill); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.opts.log.Error("events: the spill file's events are published but it could not be removed; "+
			"the next start publishes them again (JetStream drops those within its 2-minute duplicate window)",
			zap.String("file", s.sopts.spill), zap.Error(err))
		return
	}
	_ = fsx.SyncDir(filepath.Dir(s.sopts.spill))
	s.opts.log.Info("events: the spill file's events are published; file removed", zap.String("file", s.sopts.spill))
}

// spill writes what the closed queue still holds to the spill file,
// after what it read from there and did not release (replacing the file:
// released events are queued, so the new file holds all it held). It
// reports how many events it kept.
func (s *Stream) spill() (int, error) {
	s.sp.mu.Lock()
	evs := append([]Event(nil), s.sp.held...)
	s.sp.mu.Unlock()
	evs = append(evs, s.q.take(nil, s.q.len())...)
	var b []byte
	for i := range evs {
		var err error
		if b, err = AppendJSON(b, &evs[i]); err != nil {
			return 0, err
		}
		b = append(b, '\n')
	}
	if err := os.MkdirAll(filepath.Dir(s.sopts.spill), 0o700); err != nil {
		return 0, err
	}
	err := fsx.ReplaceFile(s.sopts.spill, 0o600, func(f *os.File) error { _, err := f.Write(b); return err })
	if err != nil {
		return 0, err
	}
	return len(evs), nil
}
