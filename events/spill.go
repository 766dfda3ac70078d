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

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/natskey"
)

// The spill: a cluster node stopped while NATS is away kept its queued
// events only in memory, and lost them at exit. With a spill file the
// stop writes them there (one JSON event a line, as published, ids
// included), and the next start of the node publishes them first, under
// the same ids, and removes the file once JetStream has acknowledged
// them all. A single node has none: its log's writes fail on the disk the
// spill would go to.

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
// rather than losing them, and publishes those a previous stop kept there
// before any other (SpillFile).
func WithSpill(path string) StreamOption { return func(o *streamOptions) { o.spill = path } }

// readSpill queues the events a previous stop kept in the spill file, if
// any, before any other event. A file that does not parse is an error:
// the start stops rather than lose or skip what it holds.
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
	if len(evs) == 0 {
		s.spillPending = true
		s.spillPublished()
		return nil
	}
	for _, ev := range evs {
		s.q.push(ev)
	}
	s.spilled, s.spillPending = uint64(len(evs)), true
	s.opts.log.Info("events: publishing the events the last stop kept in the spill file",
		zap.String("file", s.sopts.spill), zap.Int("events", len(evs)))
	return nil
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

// spillPublished removes the spill file once the events read from it are
// stored (the writer calls it after each acknowledged batch). Writer only.
func (s *Stream) spillPublished() {
	if !s.spillPending || s.stored.n.Load() < s.spilled {
		return
	}
	s.spillPending = false
	if err := os.Remove(s.sopts.spill); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.opts.log.Error("events: the spill file's events are published but it could not be removed; "+
			"the next start publishes them again (JetStream drops those within its 2-minute duplicate window)",
			zap.String("file", s.sopts.spill), zap.Error(err))
		return
	}
	_ = fsx.SyncDir(filepath.Dir(s.sopts.spill))
	s.opts.log.Info("events: the spill file's events are published; file removed", zap.String("file", s.sopts.spill))
}

// spill writes what the closed queue still holds to the spill file
// (replacing one a previous stop left: what it held is queued first, so
// the new file holds it too). It reports how many events it kept.
func (s *Stream) spill() (int, error) {
	evs := s.q.take(nil, s.q.len())
	var b []byte
	for i := range evs {
		var err error
		if b, err = AppendJSON(b, &evs[i]); err != nil {
			return 0, err
		}
		b = append(b, '\n')
	}
	if err := writeFileSynced(s.sopts.spill, b); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// writeFileSynced makes path hold b whole or not change: a temporary
// file, synced, renamed over it, and the dir synced.
func writeFileSynced(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return fsx.SyncDir(dir)
}
