package webhook

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/boltcheck"
	"github.com/cliser/cliser/internal/testkit"
)

const testURL = "http://127.0.0.1:1/hook"

// A save torn by a crash (its slot not whole) leaves the save before it.
func TestFileCursorTornSaveKeepsTheOneBefore(t *testing.T) {
	dir := t.TempDir()
	c := openCursor(t, dir, testURL)
	require.NoError(t, c.Save(t.Context(), State{Acked: 10}))
	require.NoError(t, c.Save(t.Context(), State{Acked: 10, First: 11, Last: 20}))
	require.NoError(t, c.Close())

	path := filepath.Join(dir, CursorFile(testURL))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff, 0xff, 0xff}, slotAt(2)+20) // save 2, torn
	require.NoError(t, err)
	require.NoError(t, f.Close())

	c = openCursor(t, dir, testURL)
	st, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, State{Acked: 10}, st, "save 1")
	require.NoError(t, c.Save(t.Context(), State{Acked: 20}), "the torn slot is written again")
	require.NoError(t, c.Close())
	c = openCursor(t, dir, testURL)
	defer c.Close()
	st, _, err = c.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, State{Acked: 20}, st)
}

// Both slots damaged is an error, never a silent new start.
func TestFileCursorBothSlotsDamagedIsAnError(t *testing.T) {
	dir := t.TempDir()
	c := openCursor(t, dir, testURL)
	require.NoError(t, c.Save(t.Context(), State{Acked: 1}))
	require.NoError(t, c.Save(t.Context(), State{Acked: 2}))
	require.NoError(t, c.Close())
	path := filepath.Join(dir, CursorFile(testURL))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	for _, at := range []int64{slotAt(1) + 30, slotAt(2) + 30} {
		_, err = f.WriteAt([]byte{0xaa}, at)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	_, err = OpenFileCursor(dir, testURL)
	require.ErrorContains(t, err, "not whole")
	// What to do, as for the other data files (it said only "a slot is
	// not whole", twice, on two lines).
	require.ErrorContains(t, err, "webhook cursor file damaged: "+path)
	require.ErrorContains(t, err, "mv "+path+" "+path+".damaged")
	require.ErrorContains(t, err, "backup")
	require.NotContains(t, err.Error(), "\n")
}

// A file a crash left before its creation was synced whole (short) was
// never saved to: it is made again. A short file is also what a full disk
// or a bad copy leaves, and taking it as new skips the events the
// receiver had not acknowledged: that is said, as for the other data
// files found empty; a cursor that was not there is made without a word.
func TestFileCursorShortFileIsMadeAgain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CursorFile(testURL))
	core, logs := observer.New(zap.InfoLevel)
	fresh, err := OpenFileCursor(t.TempDir(), testURL, CursorLogger(zap.New(core)))
	require.NoError(t, err)
	require.NoError(t, fresh.Close())
	require.Zero(t, logs.Len(), "a new cursor is made without a word")
	require.NoError(t, os.WriteFile(path, []byte("cliwh"), 0o600))
	c, err := OpenFileCursor(dir, testURL, CursorLogger(zap.New(core)))
	require.NoError(t, err)
	defer c.Close()
	said := logs.FilterMessageSnippet("webhook cursor file was short").All()
	require.Len(t, said, 1, "a short file taken as new is said")
	require.Equal(t, zap.WarnLevel, said[0].Level)
	require.EqualValues(t, 5, said[0].ContextMap()["bytes"])
	_, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.False(t, found)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.EqualValues(t, cursorFileSize, fi.Size())
}

// A second opener of the same cursor (another process on the data dir)
// is refused while the first holds it.
func TestFileCursorOneOpener(t *testing.T) {
	dir := t.TempDir()
	c := openCursor(t, dir, testURL)
	_, err := OpenFileCursor(dir, testURL)
	require.ErrorContains(t, err, "held by another process")
	require.NoError(t, c.Close())
	c = openCursor(t, dir, testURL)
	require.NoError(t, c.Close())
}

// A data dir of an earlier build: each URL's state in webhook.db is its
// cursor's start; a URL not there is new.
func TestFileCursorTakesWebhookDB(t *testing.T) {
	dir := t.TempDir()
	v, err := encodeState(State{Acked: 41, First: 42, Last: 50})
	require.NoError(t, err)
	writeLegacyDB(t, dir, testURL, v)

	c := openCursor(t, dir, testURL)
	st, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, State{Acked: 41, First: 42, Last: 50}, st)
	require.NoError(t, c.Save(t.Context(), State{Acked: 50}))
	require.NoError(t, c.Close())
	c = openCursor(t, dir, testURL)
	st, _, err = c.Load(t.Context())
	require.NoError(t, err)
	require.Equal(t, State{Acked: 50}, st, "webhook.db is read once, at the file's creation")
	require.NoError(t, c.Close())

	other := openCursor(t, dir, "http://127.0.0.1:1/other")
	defer other.Close()
	_, found, err = other.Load(t.Context())
	require.NoError(t, err)
	require.False(t, found)
}

// A damaged webhook.db stops the cursor's open with a refusal that names
// it and says what to do, where a truncated one faulted the process
// (SIGBUS) and a broken state did not say which file held it.
func TestFileCursorRefusesADamagedWebhookDB(t *testing.T) {
	for name, damage := range map[string]func(path string){
		"truncated": func(path string) { require.NoError(t, os.Truncate(path, 4*4096)) },
		"broken state": func(path string) {
			writeLegacyDB(t, filepath.Dir(path), testURL, []byte(`{"first":5,"last":1}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeLegacyDB(t, dir, testURL, []byte(`{"acked":41,"first":42,"last":50}`))
			path := filepath.Join(dir, LegacyCursorFile)
			damage(path)
			for range 2 { // and again: not taken as a new webhook the second time
				_, err := OpenFileCursor(dir, testURL)
				require.ErrorIs(t, err, boltcheck.ErrDamaged)
				require.ErrorContains(t, err, "mv "+path)
			}
			// Moved away as the refusal says: a new webhook, without a
			// word of a short cursor file (the refused opens left none).
			require.NoError(t, os.Rename(path, path+".damaged"))
			core, logs := observer.New(zapcore.WarnLevel)
			c, err := OpenFileCursor(dir, testURL, CursorLogger(zap.New(core)))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			_, found, err := c.Load(t.Context())
			require.NoError(t, err)
			assert.False(t, found, "a new webhook")
			assert.Empty(t, logs.All(), "no warning")
		})
	}
}

// writeLegacyDB writes dir's webhook.db as earlier builds did, with
// value as url's state.
func writeLegacyDB(tb testing.TB, dir, url string, value []byte) {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(dir, LegacyCursorFile), 0o600, &bolt.Options{NoSync: true, Timeout: 5 * time.Second})
	require.NoError(tb, err)
	require.NoError(tb, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(legacyBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(cursorKey(url)), value)
	}))
	require.NoError(tb, db.Close())
}

// FuzzLegacyCursor: an earlier build's webhook.db, whatever its bytes, is
// read as the state it holds for the URL, as none, or refused with an
// error that names the file (the operator's to move away), never a panic
// or a fault. A file written as those builds did is read as decodeState
// reads the value; then the same file, bytes overwritten at at by patch
// and cut to cut bytes (when cut is not 0), keeps a read from failing
// worse. Seeded with the stored cursor's golden cases, whole, truncated
// (a SIGBUS before boltcheck) and with a broken meta page.
func FuzzLegacyCursor(f *testing.F) {
	for _, v := range stateGolden {
		f.Add([]byte(v), uint16(0), []byte(nil), uint16(0))
		f.Add([]byte(v), uint16(0), []byte(nil), uint16(4*4096))
		f.Add([]byte(v), uint16(4096+16), []byte{0xff}, uint16(0))
	}
	f.Add([]byte(nil), uint16(0), []byte("not a bbolt file"), uint16(16))
	dir := f.TempDir()
	path := filepath.Join(dir, LegacyCursorFile)
	f.Fuzz(func(t *testing.T, value []byte, at uint16, patch []byte, cut uint16) {
		_ = os.Remove(path)
		writeLegacyDB(t, dir, testURL, value)
		st, found, err := readLegacyCursor(dir, testURL)
		want, werr := decodeState(value)
		switch {
		case len(value) == 0:
			if err != nil || found {
				t.Fatalf("no value: %+v, %v, %v", st, found, err)
			}
		case werr != nil:
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("%q (%v): %v, an error that does not name %s", value, werr, err, path)
			}
		case err != nil || !found || st != want:
			t.Fatalf("%q: %+v, %v, %v; want %+v", value, st, found, err, want)
		}

		file, err := os.ReadFile(path)
		require.NoError(t, err)
		copy(file[int(at)%len(file):], patch)
		if cut > 0 {
			file = file[:int(cut)%(len(file)+1)]
		}
		require.NoError(t, os.WriteFile(path, file, 0o600))
		st, found, err = readLegacyCursor(dir, testURL)
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("%d bytes, %q at %d: %v does not name %s", len(file), patch, at, err, path)
			}
		case found && st.First > st.Last:
			t.Fatalf("%d bytes, %q at %d: read as %+v", len(file), patch, at, st)
		case !found && st != (State{}):
			t.Fatalf("%d bytes, %q at %d: nothing found, %+v", len(file), patch, at, st)
		}
	})
}

// FuzzNewestSlot: two slots give a state whose batch is in order, nothing
// or an error; never a panic; a slot encoded is read back as it was.
func FuzzNewestSlot(f *testing.F) {
	a, b := make([]byte, slotSize), make([]byte, slotSize)
	encodeSlot(a, 3, State{Acked: 41, First: 42, Last: 50})
	encodeSlot(b, 4, State{Acked: 50})
	f.Add(a, b)
	f.Add(a, make([]byte, slotSize))
	f.Add(make([]byte, slotSize), make([]byte, slotSize))
	f.Add(a[:20], b)
	f.Fuzz(func(t *testing.T, a, b []byte) {
		s, found, err := newestSlot(a, b)
		if err != nil || !found {
			require.Zero(t, s)
			return
		}
		require.LessOrEqual(t, s.First, s.Last)
		require.NotZero(t, s.gen)
		again := make([]byte, slotSize)
		encodeSlot(again, s.gen, s.State)
		back, ok, err := decodeSlot(again)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, s, back)
	})
}

// TestFileCursorCloseBesideASave: a deliverer may still be saving when
// its cursor is closed (a node's shutdown, a test's deferred Close); the
// saves after the Close fail with os.ErrClosed, never touch a closed (or
// reused) descriptor, and the race detector sees no race.
func TestFileCursorCloseBesideASave(t *testing.T) {
	c := openCursor(t, t.TempDir(), testURL)
	saved := make(chan error, 1)
	go func() {
		var err error
		for i := uint64(1); err == nil; i++ {
			err = c.Save(t.Context(), State{Acked: i})
		}
		saved <- err
	}()
	require.Eventually(t, func() bool {
		st, _, err := c.Load(t.Context())
		return err == nil && st.Acked > 0
	}, 5*time.Second, time.Millisecond, "a save before the close")
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-saved, os.ErrClosed)
	_, _, err := c.Load(t.Context())
	require.ErrorIs(t, err, os.ErrClosed)
	require.NoError(t, c.Close(), "a second Close")
}

// TestFileCursorOnAFullDisk: a cursor made before the disk filled keeps
// saving (a save rewrites a slot of a file made whole at its creation);
// a cursor that must be made on a full disk fails to open with the
// reason, and opens once there is room.
func TestFileCursorOnAFullDisk(t *testing.T) {
	dir := testkit.SmallDisk(t, "64k")
	c := openCursor(t, dir, testURL)
	defer c.Close()
	room := testkit.FillDisk(t, dir)
	for i := uint64(1); i <= 10; i++ {
		require.NoError(t, c.Save(t.Context(), State{Acked: i}), "save %d on a full disk", i)
	}
	st, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, uint64(10), st.Acked)

	other := testURL + "/other"
	_, err = OpenFileCursor(dir, other)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorContains(t, err, "webhook cursor")
	room()
	c2 := openCursor(t, dir, other)
	require.NoError(t, c2.Save(t.Context(), State{Acked: 1}))
	require.NoError(t, c2.Close())
}

// The data dir removed under a running deliverer: the next save writes
// the file again at its path, both slots, and a restart resumes from it;
// before, the saves went into the removed file and the restart began the
// webhook afresh.
func TestFileCursorRemovedIsWrittenAgainAtTheNextSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	core, logs := observer.New(zap.InfoLevel)
	c, err := OpenFileCursor(dir, testURL, CursorLogger(zap.New(core)))
	require.NoError(t, err)
	require.NoError(t, c.Save(t.Context(), State{Acked: 10}))
	require.Zero(t, testkit.Gathered(t, c.Collectors(), MetricCursorLost, ""))
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, c.Save(t.Context(), State{Acked: 20, First: 21, Last: 30}))
	fi, err := os.Stat(filepath.Join(dir, CursorFile(testURL)))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, c.Save(t.Context(), State{Acked: 30}), "placed again: no second restore")
	require.Equal(t, 1.0, testkit.Gathered(t, c.Collectors(), MetricCursorLost, ""), "counted once")
	said := logs.FilterMessageSnippet("written there again").All()
	require.Len(t, said, 1, "logged once")
	require.Equal(t, zap.ErrorLevel, said[0].Level)
	// Under "file", the key of every other line that names a file (the
	// registry's and the stores' in the same case): it was "path".
	require.Equal(t, filepath.Join(dir, CursorFile(testURL)), said[0].ContextMap()["file"])
	require.NoError(t, c.Close())
	requireStoredState(t, dir, State{Acked: 30})
}

// TestFileCursorRemovedIsWrittenAgainWithoutASave: while the receiver
// does not acknowledge there is no save, so the data dir removed then
// must be mended by the cursor's own watch: before, the file stayed gone,
// and a restart began the webhook afresh after the newest event, skipping
// every event the receiver had not acknowledged.
func TestFileCursorRemovedIsWrittenAgainWithoutASave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	core, logs := observer.New(zap.InfoLevel)
	c, err := OpenFileCursor(dir, testURL, CursorLogger(zap.New(core)))
	require.NoError(t, err)
	require.NoError(t, c.Save(t.Context(), State{Acked: 10, First: 11, Last: 12}))
	require.NoError(t, os.RemoveAll(dir))
	path := filepath.Join(dir, CursorFile(testURL))
	eventually(t, func() bool { return logs.FilterMessageSnippet("written there again").Len() > 0 }, "the file written back with no save")
	_, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, 1.0, testkit.Gathered(t, c.Collectors(), MetricCursorLost, ""), "counted")
	require.Len(t, logs.FilterMessageSnippet("written there again").All(), 1, "logged once")
	require.NoError(t, c.Close())
	requireStoredState(t, dir, State{Acked: 10, First: 11, Last: 12})
}

// requireStoredState: a new open of testURL's cursor in dir loads want.
func requireStoredState(t *testing.T, dir string, want State) {
	t.Helper()
	c := openCursor(t, dir, testURL)
	defer c.Close()
	st, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, want, st)
}

// Another process that made the file since holds its lock: the save
// fails and says why, and writes nothing over it.
func TestFileCursorRemovedAndTakenFailsTheSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := openCursor(t, dir, testURL)
	require.NoError(t, c.Save(t.Context(), State{Acked: 10}))
	require.NoError(t, os.RemoveAll(dir))
	other := openCursor(t, dir, testURL)
	defer other.Close()
	err := c.Save(t.Context(), State{Acked: 20})
	require.ErrorContains(t, err, "removed from the data dir while open")
	require.ErrorContains(t, err, "another process holds the new file's lock")
	require.Error(t, c.Save(t.Context(), State{Acked: 21}))
	require.Equal(t, 1.0, testkit.Gathered(t, c.Collectors(), MetricCursorLost, ""), "one loss, however many saves fail")
	_, found, err := other.Load(t.Context())
	require.NoError(t, err)
	require.False(t, found, "the other's new file is untouched")
	require.NoError(t, c.Close())
}
