// Package boltkeep keeps an open bbolt file of the data dir at its path.
// When the file is removed while open (the data dir deleted, a tmp
// cleaner) bbolt goes on writing, successfully, into an unlinked file that
// no restart will read. A Keeper notices (fsx.Placed, a cheap fstat and
// stat), says so once (log, counter, Healthy for /readyz) and writes the
// open database back at its path (bbolt's hot copy), so that its owner
// reopens it there and nothing is lost. The identity store and the event
// log keep their files with it.
package boltkeep

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
)

// CheckEvery is how often the stores look: two stat calls, so that
// writes land in a file no restart reads for a second at most.
const CheckEvery = time.Second

// ErrHeld: another process holds the lock of the file now at the path (a
// second server started on the recreated data dir); restoring over it
// would hide its writes, as it hid ours.
var ErrHeld = errors.New("another process holds the file now at its path")

// Keeper watches one open bbolt file. Check and Restore are called by its
// owner while no write transaction can run (see Restore); Healthy from
// any goroutine.
type Keeper struct {
	path  string
	what  string // "identity store": whose file, for the log and /readyz
	holds string // "credentials and bans": what a restart would lose
	log   *zap.Logger
	lost  prometheus.Counter
	watch *os.File // the file bbolt opened, opened again to fstat it

	mu       sync.Mutex
	since    time.Time // when it was found lost; zero while in place
	why      error     // what Check found
	failed   error     // the last restore's error
	fails    int       // restores failed in a row
	next     time.Time // no restore before this after a failed one (retryWait)
	restores int       // restores done, for tests

	grown atomic.Int64          // the file's largest size after an open or a write (Grown)
	cut   atomic.Pointer[error] // set once the file is found shorter (Cut)
}

// maxRetryWait bounds the wait between failed restores: each is a copy of
// the whole file, and a large events.db copied every second onto a disk
// that has no room for it was a second's worth of writes each second.
const maxRetryWait = time.Minute

// retryWait is the wait after fails restores failed in a row: CheckEvery
// doubled each time, at most maxRetryWait.
func retryWait(fails int) time.Duration {
	if fails > 6 {
		return maxRetryWait
	}
	return min(CheckEvery<<(fails-1), maxRetryWait)
}

// New watches the file at path, just opened by bbolt (the one found at
// path now). lost counts the times it is found gone or replaced.
func New(path, what, holds string, log *zap.Logger, lost prometheus.Counter) (*Keeper, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: watch %s: %w", what, path, err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Keeper{path: path, what: what, holds: holds, log: log, lost: lost, watch: f}, nil
}

// Check reports whether the file is no longer the one at its path. The
// first finding of an episode is logged and counted.
func (k *Keeper) Check() (lost bool) {
	k.mu.Lock() // Restore swaps watch
	defer k.mu.Unlock()
	err := fsx.Placed(k.watch, k.path)
	if err == nil {
		return false
	}
	if k.since.IsZero() {
		k.since, k.why = time.Now(), err
		k.lost.Inc()
		k.log.Error(k.what+": its file left the data dir while open (the data dir deleted, a tmp cleaner?); "+
			"writes since went to a file no restart reads. Restoring it at its path from the open database, "+
			"nothing lost; find what deletes the data dir",
			zap.String("file", k.path), zap.Error(err))
	}
	return true
}

// Size is the size of the file bbolt opened (fstat of it, wherever it is
// now), for an owner that checks it was not cut under the open database.
func (k *Keeper) Size() (int64, error) {
	k.mu.Lock() // Restore swaps watch
	defer k.mu.Unlock()
	fi, err := k.watch.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Restore writes db's content at the path (bbolt's hot copy of a read
// transaction, from bbolt's own open file) and reopens it with open; it
// returns the database to use from now on: the reopened one, with db
// closed, or db itself when restoring failed (reported once an episode
// in Healthy and the log, tried again at the next Check). Its owner calls
// it while nothing writes to db: a commit after the copy would be in db
// only. Readers of db must be done or held off: db is closed.
//
// After a failed restore the next waits (retryWait); RestoreNow does not.
func (k *Keeper) Restore(db *bolt.DB, open func(path string) (*bolt.DB, error)) *bolt.DB {
	k.mu.Lock()
	wait := time.Now().Before(k.next)
	k.mu.Unlock()
	if wait {
		return db
	}
	return k.RestoreNow(db, open)
}

// RestoreNow is Restore without the wait after a failed one: the owner's
// Close, the last chance.
func (k *Keeper) RestoreNow(db *bolt.DB, open func(path string) (*bolt.DB, error)) *bolt.DB {
	aside, err := k.copyBack(db)
	var ndb *bolt.DB
	var watch *os.File
	if err == nil {
		// The reopen takes the new file's lock: a second server on the
		// dir is refused again.
		if ndb, err = open(k.path); err == nil {
			if watch, err = os.Open(k.path); err != nil {
				_ = ndb.Close()
			}
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		if k.failed == nil {
			k.log.Error(k.what+": restoring its file failed; "+k.holds+" written since it left the data dir "+
				"are in memory only and a restart now loses them; retried after "+CheckEvery.String()+
				", then after a wait that doubles up to "+maxRetryWait.String(),
				zap.String("file", k.path), zap.Error(err))
		}
		k.failed = err
		k.fails++
		k.next = time.Now().Add(retryWait(k.fails))
		return db
	}
	if cerr := db.Close(); cerr != nil {
		k.log.Warn(k.what+": closing the removed file", zap.Error(cerr))
	}
	_ = k.watch.Close()
	k.watch = watch
	if fi, err := watch.Stat(); err == nil && k.cut.Load() == nil {
		k.grown.Store(fi.Size()) // another file, of its own size
	}
	fields := []zap.Field{zap.String("file", k.path), zap.Duration("lost_for", time.Since(k.since))}
	if aside != "" {
		fields = append(fields, zap.String("moved_aside", aside))
	}
	k.log.Warn(k.what+": its file is back at its path with everything written meanwhile; writes go there again", fields...)
	k.since, k.why, k.failed = time.Time{}, nil, nil
	k.fails, k.next = 0, time.Time{}
	k.restores++
	return ndb
}

// copyBack writes db at the path through a temporary file (fsynced, then
// renamed, the dir fsynced), making the dir (0700) when it is gone. A
// file that replaced it is moved aside, not overwritten, unless another
// process holds it (ErrHeld). It returns where it moved one.
func (k *Keeper) copyBack(db *bolt.DB) (aside string, err error) {
	dir := filepath.Dir(k.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := heldElsewhere(k.path); err != nil {
		return "", err
	}
	tmp := k.path + ".restore"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	// A read transaction's WriteTo reads bbolt's own descriptor, the
	// removed file's, not the path.
	err = db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(f); return err })
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if _, err := os.Lstat(k.path); err == nil {
		aside = fmt.Sprintf("%s.replaced-%s", k.path, time.Now().UTC().Format("20060102T150405.000000000"))
		if err := os.Rename(k.path, aside); err != nil {
			_ = os.Remove(tmp)
			return "", err
		}
	}
	if err := os.Rename(tmp, k.path); err != nil {
		_ = os.Remove(tmp)
		return aside, err
	}
	return aside, fsx.SyncDir(dir)
}

// heldElsewhere is ErrHeld when the file at path is locked by another
// process; nil when there is none or nobody holds it.
func heldElsewhere(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("%w: %s", ErrHeld, path)
	}
	return err // closing f lets go of the lock
}

// Healthy is nil unless the file is lost and not yet restored, or was
// cut (Cut): for /readyz.
func (k *Keeper) Healthy() error { return errors.Join(k.lostErr(), k.cutErr()) }

func (k *Keeper) lostErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.since.IsZero() {
		return nil
	}
	why := k.why
	var pe *os.PathError
	if errors.As(why, &pe) && pe.Path == k.path {
		why = pe.Err // the path is said already
	}
	err := fmt.Errorf("%s: its file %s is not at its path since %s (%w); %s written since then reach no file a restart reads",
		k.what, k.path, k.since.UTC().Format(time.RFC3339), why, k.holds)
	if k.failed != nil {
		err = fmt.Errorf("%w: restoring it failed (%w), retried at %s; a graceful stop tries again", err, k.failed,
			k.next.UTC().Format(time.RFC3339))
	}
	return err
}

// Restores is how many times the file was put back.
func (k *Keeper) Restores() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.restores
}

// Close lets go of the watch.
func (k *Keeper) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.watch.Close()
}
