package events

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/loggate"
)

// floorReserve is how far past the newest committed seq the floor file
// is moved when a commit would pass it: two fsynced writes per 65,536
// events (cover, landed), and a log begun anew after a crash skips at
// most that many seqs (after a clean stop, none: settle). A reserve is
// counted from a seq already committed, so that after a crash the log's
// newest is never below the reserve less floorReserve: an events.db whose
// newest is, was put back (goOnAfterFloor).
const floorReserve = 1 << 16

// A commit's seqs fit in the reserve counted from the seq before them.
var _ [floorReserve - logChunk]struct{}

// maxFloor is the largest floor taken: past it, seqs and the reserve
// would wrap around (a seq is a uint64), and no log gives 2^62 events.
const maxFloor = 1 << 62

// seqFloor is the file beside the log's (events.seq beside events.db)
// that holds a seq no event has passed. A log begun anew (events.db moved
// away after damage, or found empty) goes on after it, so that seq never
// goes back (EVENTS.md) and a reader's cursor of the old log is answered
// (410, or the new events) where it waited without a word for the new
// log to reach it. Kept outside events.db because it must outlive it.
// The writer's alone, after Open.
type seqFloor struct {
	path  string
	floor uint64 // on disk: every committed seq is at most this
	// exact: floor is the newest seq itself (settled at a clean stop),
	// not a reserve past it; its file says "reserved" otherwise.
	exact bool
	// rebase: cover moved the floor before a commit; landed counts it
	// again from the commit's last seq.
	rebase bool
	lost   loggate.Episode // keep's writes failing
}

// floorReserved marks a floor file's number as a reserve: the log's
// newest was somewhere at or below it.
const floorReserved = " reserved"

// floorPath is the floor file of the log at path: events.db → events.seq.
func floorPath(path string) string { return strings.TrimSuffix(path, ".db") + ".seq" }

// Floor file errors that are not its content's damage: a directory (or
// any non-regular file) in its place stops Open, since no write can
// replace it, and one that cannot be read is said as such, not as damage
// (upgrade audit: a directory was "damaged; written again", then every
// commit failed).
var (
	errFloorNotAFile   = errors.New("events: the seq floor file is not a regular file")
	errFloorUnreadable = errors.New("events: the seq floor file cannot be read")
)

// readFloor reads the floor file: 0 when there is none; exact when its
// number is the old log's newest seq, not a reserve past it.
func readFloor(path string) (n uint64, exact bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err == nil && !fi.Mode().IsRegular() {
		return 0, false, fmt.Errorf("%w: %s is %s: cliser will not start on it; move it away (cliser writes the file)",
			errFloorNotAFile, path, fsx.Kind(fi.Mode()))
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", errFloorUnreadable, err)
	}
	text, reserved := strings.CutSuffix(strings.TrimSpace(string(b)), floorReserved)
	n, err = strconv.ParseUint(text, 10, 64)
	why := "not a number"
	if errors.Is(err, strconv.ErrRange) || err == nil && n > maxFloor {
		err, why = errors.New("too large"), fmt.Sprintf("a number past any seq a log gives, at most %d", uint64(maxFloor))
	}
	if err != nil {
		return 0, false, fmt.Errorf("events: %s should hold one number, the newest seq the event log may have given, and holds %q (%s)",
			path, b[:min(len(b), 40)], why)
	}
	return n, !reserved, nil
}

// cover moves the floor file past last before a commit of seqs up to
// last, to the reserve past committed, the newest seq already committed;
// nothing is written while the floor already covers last.
func (f *seqFloor) cover(committed, last uint64) error {
	if last <= f.floor {
		return nil
	}
	if err := f.write(committed+floorReserve, false); err != nil {
		return err
	}
	f.rebase = true
	return nil
}

// landed counts the reserve again from last, once the commit cover made
// room for has landed. Otherwise a backup of the log taken before that
// commit (at the clean stop before this run, say) and put back after a
// crash would look like the crash alone: its newest is the seq the
// reserve was counted from. Should the write fail, the floor as it is
// still holds (every commit is below it), and the next commit tries
// again; cover's failures are the ones said (Healthy).
func (f *seqFloor) landed(last uint64) {
	if f.rebase && f.write(last+floorReserve, false) == nil {
		f.rebase = false
	}
}

// settle writes the newest seq itself as the floor at close, once no
// commit can follow: a log begun anew after a clean stop goes on right
// after it, and a reader that had every event is not answered 410 for
// the reserve's seqs, which no event had. It writes back a floor file
// removed while open, too. Should it fail, the reserve on disk still
// keeps seqs from going back: a warning says so.
func (f *seqFloor) settle(newest uint64, log *zap.Logger) {
	if newest == 0 {
		return
	}
	if err := f.write(newest, true); err != nil {
		log.Warn("events: the seq floor file was not settled at close; a log begun anew would skip "+
			"up to its reserve of seqs", zap.Error(err))
	}
}

// keep writes the floor file back when it left its path (the data dir
// removed, the file alone): only settle would, at a clean stop, and after
// a crash an older events.db put back would give its seqs again. Called
// with keepPlaced, after events.db is put back; a write that fails is
// tried at the next check, and said once until one lands.
func (f *seqFloor) keep(log *zap.Logger) {
	if f.floor == 0 {
		return // nothing committed to keep from going back
	}
	if _, err := os.Stat(f.path); !errors.Is(err, os.ErrNotExist) {
		return
	}
	if err := f.write(f.floor, f.exact); err != nil {
		if f.lost.Fail() {
			log.Warn("events: the seq floor file is gone from the data dir and cannot be written back yet; tried again every check",
				zap.String("file", f.path), zap.Error(err))
		}
		return
	}
	f.lost.OK()
	log.Warn("events: the seq floor file was gone from the data dir (removed while open); written back",
		zap.String("file", f.path), zap.Uint64("floor", f.floor))
}

func (f *seqFloor) write(n uint64, exact bool) error {
	line := strconv.FormatUint(n, 10)
	if !exact {
		line += floorReserved
	}
	err := fsx.ReplaceFile(f.path, 0o600, func(file *os.File) error {
		_, err := file.WriteString(line + "\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("seq floor %s: %w", f.path, err)
	}
	f.floor, f.exact = n, exact
	return nil
}

// BegunAnew (Floored) says whether this log was begun anew at Open,
// going on after the floor file's seq (after): exact when that was the
// old log's newest seq (a clean stop), else a reserve at or above it, so
// that how many of the seqs past a reader's cursor had events is not
// known. Safe from any goroutine.
func (l *Log) BegunAnew() (after uint64, exact, ok bool) {
	return l.anew.after, l.anew.exact, l.anew.after > 0
}

// goOnAfterFloor is load's step for the floor file: a log with no newest
// seq of its own (begun anew) takes the floor's, in tx, and says so once.
// A damaged floor file stops such a log; beside a log that has its newest
// seq it is rewritten (Open's cover), with a warning.
func (l *Log) goOnAfterFloor(tx *bolt.Tx, floorErr error) error {
	newest := l.n.newest.Load()
	switch {
	case errors.Is(floorErr, errFloorNotAFile):
		return floorErr
	case floorErr != nil && newest == 0:
		return fmt.Errorf("%w: with events.db empty or gone the log cannot tell where its seqs go on; "+
			"put back the file from a backup, or remove it to start seqs from 1 again (readers then re-read from the start)", floorErr)
	case floorErr != nil:
		what := "is damaged"
		if errors.Is(floorErr, errFloorUnreadable) {
			what = "cannot be read"
		}
		l.opts.log.Warn("events: the seq floor file "+what+"; written again from events.db's newest seq",
			zap.String("file", l.floor.path), zap.Uint64("newest", newest), zap.Error(floorErr))
		l.floor.floor = 0
		return nil
	case newest != 0 && l.floor.exact && newest < l.floor.floor,
		newest != 0 && !l.floor.exact && newest < l.floor.floor-min(l.floor.floor, floorReserve):
		return l.goOnAfterGap(tx, newest)
	case newest != 0 || l.floor.floor == 0:
		return nil
	}
	l.opts.log.Warn("events: the event log begins anew (events.db moved away or found empty); "+
		"its seqs go on after the floor file's, so that none goes back: a reader after an older seq is answered 410",
		zap.String("file", l.path), zap.String("floor_file", l.floor.path), zap.Uint64("after", l.floor.floor),
		zap.Bool("exact", l.floor.exact))
	l.anew.after, l.anew.exact = l.floor.floor, l.floor.exact
	l.n.newest.Store(l.floor.floor)
	return tx.Bucket(bucketMeta).Put(keyNewest, seqKey(l.floor.floor))
}

// goOnAfterGap is goOnAfterFloor's for an older events.db put back (a
// backup, as a damaged one's refusal offers) beside a floor a clean stop
// settled past its newest seq: the seqs between were given, and their
// events are gone. Seqs go on after the floor, and a reader after a seq
// before it is answered 410, as for events the retention dropped: it
// missed some. Kept in the log (keyGapTo), for the restarts that follow.
// A clean stop's floor tells any older file; after a crash, the reserve
// tells a file older than the seq it was counted from (floorReserve):
// one put back from less far behind cannot be told from the crash. (A
// reserve an earlier build left at a crash was counted from the last seq
// of the commit it covered, up to logChunk later: a crash in that commit
// reads as a put-back, whose only cost is a 410 to readers of the last
// events.)
func (l *Log) goOnAfterGap(tx *bolt.Tx, newest uint64) error {
	l.opts.log.Warn("events: events.db is older than the event log the server last stopped with (a backup put back?): "+
		"the events after its newest seq, up to the floor file's, are gone; seqs go on after the floor file's, "+
		"and a reader after an older seq is answered 410",
		zap.String("file", l.path), zap.Uint64("newest", newest), zap.String("floor_file", l.floor.path),
		zap.Uint64("floor", l.floor.floor))
	l.gapTo = l.floor.floor
	l.n.newest.Store(l.floor.floor)
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyGapTo, seqKey(l.floor.floor)); err != nil {
		return err
	}
	return meta.Put(keyNewest, seqKey(l.floor.floor))
}
