package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/tick"
)

// FileCursor is the Cursor of a single node: one webhook's State in a file
// of its own in the data dir, <dir>/webhook-<hash of the URL>.cursor. The
// file holds two slots, written in turn, so a save is one pwrite of one
// slot and one fdatasync; a save torn by a crash leaves the other slot,
// the state before it. It replaces a key in a bbolt file (webhook.db),
// whose every write was a transaction: its pages, then its meta page, each
// synced (two fdatasyncs), ~2.6x the CPU (BenchmarkCursorSave) in a storm
// that writes the cursor before each batch cut short by the linger.
type FileCursor struct {
	mu   sync.Mutex
	f    *os.File
	gen  uint64 // the newest slot's generation; 0: none written
	buf  [slotSize]byte
	log  *zap.Logger
	lost atomic.Uint64 // times the file left its path (MetricCursorLost)
	gone bool          // it is not at its path and not yet written again
	// stuck: the watch could not write it again; logged once until it can.
	stuck bool
	stop  context.CancelFunc // called by Close: ends watch
	done  chan struct{}      // closed when watch has returned
}

// cursorWatchEvery is how often the open cursor checks that its file is
// still at its path (two stat calls), as the registry's and bbolt files
// are: a save is what wrote it back, and while the receiver does not
// acknowledge there is none, so a data dir removed then, and a restart,
// lost the cursor and began the webhook afresh after the newest event,
// skipping every event the receiver had not yet acknowledged.
const cursorWatchEvery = time.Second

// CursorOption configures a FileCursor.
type CursorOption func(*FileCursor)

// CursorLogger is where a FileCursor says it wrote its file again.
func CursorLogger(log *zap.Logger) CursorOption { return func(c *FileCursor) { c.log = log } }

var _ Cursor = (*FileCursor)(nil)

// LegacyCursorFile is the bbolt file that held every URL's cursor before
// FileCursor; a URL's state there is copied into its own file once, at
// its first open (legacycursor.go). Nothing writes it.
const LegacyCursorFile = "webhook.db"

// cursorLockWait is how long an open waits for the file's lock, which
// another process on the same data dir would hold.
const cursorLockWait = 2 * time.Second

// CursorFile is the name of url's cursor file in the data dir.
func CursorFile(url string) string { return "webhook-" + cursorHash(url) + ".cursor" }

// OpenFileCursor opens (creating when needed) the cursor of the webhook
// at url in dir.
func OpenFileCursor(dir, url string, opts ...CursorOption) (*FileCursor, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("webhook cursor: data dir: %w", err)
	}
	path := filepath.Join(dir, CursorFile(url))
	renamed, err := takeOldName(dir, path, url)
	if err != nil {
		return nil, err
	}
	before, statErr := os.Stat(path)
	f, err := fsx.OpenLocked(path, 0o600, cursorLockWait)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("webhook cursor %s: lock held by another process after %v", path, cursorLockWait)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook cursor: %w", err)
	}
	c := &FileCursor{f: f, log: zap.NewNop(), done: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	if renamed != "" {
		c.log.Info("webhook cursor file renamed: a cursor is named after its receiver without the URL's password now",
			zap.String("from", renamed), zap.String("to", path))
	}
	made, err := c.open(dir, url)
	if err != nil && errors.Is(statErr, os.ErrNotExist) {
		// Made by this open, left empty: the next start, once the fault
		// is fixed (webhook.db moved away), would find it short.
		_ = os.Remove(path)
	}
	if errors.Is(err, errDamaged) { // as the other data files' damage: what to do, and what it costs
		_ = f.Close()
		return nil, fmt.Errorf("webhook cursor file damaged: %s (%w); cliser will not start on it: move it away "+
			"(mv %s %s.damaged) to deliver from the newest event on (the events the receiver had not acknowledged "+
			"are not sent), or put back a backup of it", path, err, path, path)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("webhook cursor %s: %w", path, err)
	}
	if made {
		c.warnMade(dir, path, before, statErr)
	}
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go func() {
		defer close(c.done)
		tick.Every(ctx, cursorWatchEvery, c.watch)
	}()
	return c, nil
}

// warnMade warns of a cursor taken as new (delivery starts after the
// newest event) where an operator may not expect it: a file that was
// there, short (before, as stat found it), or none while the data dir
// holds another URL's.
func (c *FileCursor) warnMade(dir, path string, before os.FileInfo, statErr error) {
	if statErr == nil {
		// As for the other data files found empty: more often a file
		// lost to a full disk or a bad copy than a crash at its creation.
		c.log.Warn("webhook cursor file was short (a whole one is 8 KiB): taken as new, so delivery starts after "+
			"the newest event and the events the receiver had not acknowledged are not sent; if that is not "+
			"expected, stop cliser and restore the file from a backup",
			zap.String("file", path), zap.Int64("bytes", before.Size()))
		return
	}
	if others := otherCursors(dir, path); errors.Is(statErr, os.ErrNotExist) && len(others) > 0 {
		// A password changed in the URL with an upgrade names no cursor
		// this build or the older one wrote (late audit): say what is
		// there, rather than begin afresh without a word.
		c.log.Warn("webhook cursor: new for this URL while the data dir holds another URL's; delivery starts after "+
			"the newest event. If one of them is this receiver's under its URL before a change, stop cliser and "+
			"rename it to this one to resume where the receiver stopped; else remove it",
			zap.String("file", path), zap.Strings("others", others))
	}
}

// otherCursors are the cursor files in dir other than path.
func otherCursors(dir, path string) []string {
	all, _ := filepath.Glob(filepath.Join(dir, "webhook-*.cursor"))
	return slices.DeleteFunc(all, func(p string) bool { return p == path })
}

// takeOldName renames url's cursor file from the name older builds gave
// it (oldCursorHash) to path, when only the old one is there, and returns
// the old path then.
func takeOldName(dir, path, url string) (string, error) {
	old := filepath.Join(dir, "webhook-"+oldCursorHash(url)+".cursor")
	if old == path {
		return "", nil
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		return "", nil // there, or unreadable: the open says which
	}
	if _, err := os.Lstat(old); err != nil {
		return "", nil
	}
	if err := os.Rename(old, path); err != nil {
		return "", fmt.Errorf("webhook cursor: renaming %s to %s: %w", old, path, err)
	}
	if err := fsx.SyncDir(dir); err != nil {
		return "", fmt.Errorf("webhook cursor: %w", err)
	}
	return old, nil
}

// watch writes the file back at its path (keepPlaced) when it has left
// it; called every cursorWatchEvery until Close.
func (c *FileCursor) watch(time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return
	}
	err := c.keepPlaced()
	switch {
	case err != nil && !c.stuck:
		c.stuck = true
		c.log.Error("webhook cursor: its file left the data dir and can not be written there again yet; "+
			"retrying every second (a restart now would begin the webhook afresh)", zap.Error(err))
	case err == nil && c.stuck:
		c.stuck = false
	}
}

// open reads the locked file. A new file, or one a crash left before its
// creation was synced, is made (made) with the state webhook.db holds for
// url, if any.
func (c *FileCursor) open(dir, url string) (made bool, err error) {
	st, found, err := c.read()
	if !errors.Is(err, errNotMade) {
		if err == nil && found {
			c.gen = st.gen
		}
		return false, err
	}
	legacy, found, err := readLegacyCursor(dir, url)
	if err != nil {
		return false, err
	}
	return !found, c.create(legacy, found)
}

// create writes the file whole: two empty slots, or st in the first, and
// syncs it and its directory, so that a save after it only changes a slot.
func (c *FileCursor) create(st State, found bool) error {
	b := make([]byte, cursorFileSize)
	if found {
		encodeSlot(b[slotAt(1):], 1, st)
	}
	if err := c.rewrite(b); err != nil {
		return err
	}
	if found {
		c.gen = 1
	}
	return nil
}

// Load implements Cursor.
func (c *FileCursor) Load(context.Context) (State, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return State{}, false, os.ErrClosed
	}
	st, found, err := c.read()
	return st.State, found, err
}

// read decodes the file's slots.
func (c *FileCursor) read() (slot, bool, error) {
	b := make([]byte, cursorFileSize)
	n, err := c.f.ReadAt(b, 0)
	switch {
	case n == len(b):
	case err != nil && !errors.Is(err, io.EOF):
		return slot{}, false, err
	default:
		// Short: its creation did not finish (a save comes only after
		// it was synced whole), so nothing was saved in it.
		return slot{}, false, errNotMade
	}
	return newestSlot(b[:slotSize], b[slotStride:slotStride+slotSize])
}

// Save implements Cursor: durable once fdatasync returns.
func (c *FileCursor) Save(_ context.Context, st State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return os.ErrClosed
	}
	if err := c.keepPlaced(); err != nil {
		return err
	}
	gen := c.gen + 1
	encodeSlot(c.buf[:], gen, st)
	if _, err := c.f.WriteAt(c.buf[:], slotAt(gen)); err != nil {
		return err
	}
	if err := syscall.Fdatasync(int(c.f.Fd())); err != nil {
		return err
	}
	c.gen = gen
	return nil
}

// Close releases the file and its lock. Safe on nil, twice, and beside a
// deliverer still saving: a Save or Load after it fails with os.ErrClosed.
func (c *FileCursor) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.f == nil {
		c.mu.Unlock()
		return nil
	}
	err := c.f.Close()
	c.f = nil
	c.stop()
	c.mu.Unlock()
	<-c.done
	return err
}

// keepPlaced writes the file again at its path, from the open one, when
// it is no longer there (the data dir removed or the file replaced under
// the running server: the saves went on into a file no restart reads, and
// the restart began the webhook afresh). Another process that made the
// file since and holds its lock keeps it: the save fails. c.mu is held.
func (c *FileCursor) keepPlaced() error {
	path := c.f.Name()
	cause := fsx.Placed(c.f, path)
	if cause == nil || (!errors.Is(cause, fsx.ErrGone) && !errors.Is(cause, fsx.ErrReplaced)) {
		return cause
	}
	if !c.gone { // once a loss, however many saves fail to mend it
		c.gone = true
		c.lost.Add(1)
	}
	if err := c.writeAgain(path, cause); err != nil {
		return err
	}
	c.gone = false
	c.log.Error("webhook cursor: its file was removed from the data dir (or replaced) while open; "+
		"written there again from the open one, nothing lost ("+MetricCursorLost+")",
		zap.String("file", path), zap.NamedError("cause", cause)) // "file", as the other lines about a file
	return nil
}

// writeAgain makes the file at path again from the open one and takes
// its lock. c.mu is held.
func (c *FileCursor) writeAgain(path string, cause error) error {
	b := make([]byte, cursorFileSize)
	if _, err := c.f.ReadAt(b, 0); err != nil {
		return fmt.Errorf("webhook cursor: %w; reading it to write it again: %w", cause, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("webhook cursor: %w; making the dir again: %w", cause, err)
	}
	f, err := fsx.OpenLocked(path, 0o600, 0)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("webhook cursor: %w; another process holds the new file's lock: %w", cause, err)
	}
	if err != nil {
		return fmt.Errorf("webhook cursor: %w; writing it again: %w", cause, err)
	}
	old := c.f
	c.f = f
	if err := c.rewrite(b); err != nil {
		c.f = old
		_ = f.Close()
		return fmt.Errorf("webhook cursor: %w; writing it again: %w", cause, err)
	}
	_ = old.Close()
	return nil
}

// Collectors are the cursor's metrics. Safe from any goroutine.
func (c *FileCursor) Collectors() []prometheus.Collector {
	return []prometheus.Collector{cursorLost(func() float64 { return float64(c.lost.Load()) })}
}

// NoFileCursorCollectors are the file cursor's metrics where there is
// none (no webhook, or a cluster's cursor): each reads 0, so every
// /metrics lists them (docs/events.md).
func NoFileCursorCollectors() []prometheus.Collector {
	return []prometheus.Collector{cursorLost(func() float64 { return 0 })}
}

func cursorLost(read func() float64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: MetricCursorLost,
		Help: "Times the webhook's cursor file was found removed from the data dir (or replaced) while open; it is then written again at its path from the open file (single node).",
	}, read)
}

// rewrite makes the file b, synced with its directory.
func (c *FileCursor) rewrite(b []byte) error {
	if err := c.f.Truncate(0); err != nil {
		return err
	}
	if _, err := c.f.WriteAt(b, 0); err != nil {
		return err
	}
	if err := c.f.Sync(); err != nil {
		return err
	}
	return fsx.SyncDir(filepath.Dir(c.f.Name()))
}
