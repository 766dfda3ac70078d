package logstore

import (
	"fmt"
	"syscall"

	"github.com/cliser/cliser/registry"
)

// Save: a batch appended to the log as frames, piece by piece, and synced
// once.

// maxKeptBuf is the largest encoding buffer kept between Saves: a
// registry.saveChunk of records (~250 bytes each) and some room; a rare
// larger batch gives its buffer back to the GC.
const maxKeptBuf = 512 << 10

// Save deletes the cids in gone, then inserts or replaces every record of
// put (keyed by CID), appended to the log as frames and fdatasynced once:
// after Save returns nil the batch survives a kill -9 or a power cut, and
// after an error none of it was applied (a partial write is cut off). A
// crash inside a Save that never returned leaves a prefix of its frames,
// each a whole one. A record with an empty CID can not be stored and is
// skipped. Deletes go first so that a cid which was pruned and then
// registered again within one batch ends up stored. When the log has grown
// past the snapshot, the Save then writes a new snapshot (compact.go); if
// that fails, the batch is saved all the same and the error says so. Safe
// to call from any goroutine; concurrent Saves are applied one after the
// other.
func (s *Store) Save(put []registry.Record, gone []string) error {
	if len(put) == 0 && len(gone) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return fmt.Errorf("%w: save %s", ErrClosed, s.dir)
	}
	if err := s.keepPlaced(); err != nil {
		return err
	}
	n, err := s.appendBatch(put, gone)
	if err != nil || n == 0 {
		return err
	}
	s.logEntries += n
	s.count.saves.Add(1)
	s.count.entries.Add(uint64(n))
	if s.compactionDue(len(put) + len(gone)) {
		s.compactOrRetryLater() // its failure is UpkeepErr's: the batch is saved
	}
	return nil
}

// pieceRecords is the most records encoded into the kept buffer at a
// time (~256 KiB, within maxKeptBuf). A Save of more writes them piece by
// piece and syncs once: an fdatasync costs ~200-300 us of CPU on the
// bench's disk whatever its size, and the registry used to make a Save,
// so a sync, of each 1,024 (docs/performance-journal.md, session 18).
const pieceRecords = 1024

// appendBatch encodes the batch and writes it at the log's end piece by
// piece, then syncs it once; it returns the entries written. On an error
// the log is as it was: what was written is cut off (or, if even that
// fails, overwritten by the next Save, which starts at the same end).
func (s *Store) appendBatch(put []registry.Record, gone []string) (int, error) {
	at, n := s.logEnd, 0
	for first := true; first || len(put) > 0; first = false {
		k := min(len(put), pieceRecords)
		frames, m, err := s.encode(s.buf[:0], put[:k], gone)
		s.keep(frames)
		if err == nil && m > 0 {
			_, err = s.log.WriteAt(frames, at)
		}
		if err != nil {
			_ = s.cut()
			return 0, fmt.Errorf("logstore: save %s: %w", s.logPath(), err)
		}
		at, n = at+int64(len(frames)), n+m
		put, gone = put[k:], nil
	}
	if n == 0 {
		return 0, nil
	}
	s.count.syncs.Add(1)
	if err := syscall.Fdatasync(int(s.log.Fd())); err != nil {
		_ = s.cut()
		return 0, fmt.Errorf("logstore: save %s: %w", s.logPath(), err)
	}
	s.count.bytes.Add(uint64(at - s.logEnd))
	s.logEnd = at
	return n, nil
}

// encode appends the batch as one frame (or a few, past frameTarget) to
// dst and counts its entries.
func (s *Store) encode(dst []byte, put []registry.Record, gone []string) ([]byte, int, error) {
	if need := 256 * len(put); cap(dst) < need {
		dst = make([]byte, 0, need)
	}
	dst, at := beginFrame(dst)
	n := 0
	next := func() {
		if len(dst)-at > frameTarget {
			dst = sealFrame(dst, at)
			dst, at = beginFrame(dst)
		}
	}
	for _, cid := range gone {
		if cid == "" {
			continue // never stored
		}
		dst, n = appendDelete(dst, cid), n+1
		next()
	}
	for _, rec := range put {
		if rec.CID == "" {
			// A batch that failed on one bad record would fail again on
			// every retry, stopping all persistence. Callers validate
			// cids (protocol field rule), so this only keeps a bug from
			// spreading.
			continue
		}
		var vat int
		var err error
		dst, vat = appendPutHead(dst, []byte(rec.CID))
		if dst, err = appendRecord(dst, rec); err != nil {
			return dst, 0, err
		}
		dst, n = endPut(dst, vat), n+1
		next()
	}
	if len(dst) == at+frameHead { // an empty last frame
		dst = dst[:at]
	} else {
		dst = sealFrame(dst, at)
	}
	return dst, n, nil
}

// keep keeps buf for the next Save unless it grew large.
func (s *Store) keep(buf []byte) {
	if cap(buf) <= maxKeptBuf {
		s.buf = buf[:0]
	}
}
