package logstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/internal/tied"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

func openT(t *testing.T, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rec(cid string, sid uint16) registry.Record {
	return registry.Record{SID: sid, CID: cid, CIP: "10.0.0.1", CPort: strconv.Itoa(int(sid)),
		CStatus: true, ConnectedAt: t0, LastSeen: t1}
}

func TestOpenCreatesDirAndPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := openT(t, dir, withCompactMin(1))
	require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil)) // and a snapshot
	for _, name := range []string{LogName, SnapName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
	require.NoError(t, s.Save(nil, []string{"a"}))
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.True(t, di.IsDir())

	recs, err := s.Load()
	require.NoError(t, err)
	assert.Empty(t, recs, "a new store is empty")
}

// A data dir that is a file (or under one) says so and what to do; it
// ended at mkdir's "not a directory".
func TestOpenFailsOnUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		_, err := Open(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "data dir "+dir+": it (or a dir above it) is a file, not a directory; give --data-dir a directory")
	}
}

// A snapshot that is a directory is refused by name; it was mapped and
// said only "no such device".
func TestOpenRefusesADirectoryForTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "registry.snap"), 0o700))
	_, err := Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "registry.snap is not a regular file but a directory")
	assert.NotContains(t, err.Error(), "no such device")
	assert.NotContains(t, err.Error(), "d---------", "its kind in words, not a mode")

	// The log too: it said "is a directory", with nothing to do.
	other := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(other, LogName), 0o700))
	_, err = Open(other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), LogName+" is not a regular file but a directory: cliser will not start on it; move it away")
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := openT(t, t.TempDir())
	in := []registry.Record{rec("b", 2), rec("a", 1), goldenRecords[1].rec}
	require.NoError(t, s.Save(in, nil))

	out, err := s.Load()
	require.NoError(t, err)
	assert.Equal(t, []registry.Record{rec("a", 1), goldenRecords[1].rec, rec("b", 2)}, out, "in cid order")

	// Replace one, delete one, add one: all in one batch.
	a := rec("a", 9)
	a.CStatus, a.DisconnectedAt, a.Reason = false, t2, protocol.ReasonKicked
	require.NoError(t, s.Save([]registry.Record{a, rec("c", 3)}, []string{"b", "never-stored"}))
	out, err = s.Load()
	require.NoError(t, err)
	assert.Equal(t, []registry.Record{a, goldenRecords[1].rec, rec("c", 3)}, out)

	require.NoError(t, s.Save(nil, nil), "an empty batch is fine")
}

func TestSaveDeletesBeforePuts(t *testing.T) {
	// A cid pruned and registered again before one flush shows up in both
	// gone and put; the newer state (put) must win.
	s := openT(t, t.TempDir())
	require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil))
	require.NoError(t, s.Save([]registry.Record{rec("a", 2)}, []string{"a"}))
	out, err := s.Load()
	require.NoError(t, err)
	assert.Equal(t, []registry.Record{rec("a", 2)}, out)
}

func TestSaveSkipsEmptyCIDButKeepsTheBatch(t *testing.T) {
	s := openT(t, t.TempDir())
	require.NoError(t, s.Save([]registry.Record{rec("", 1), rec("a", 2)}, []string{""}))
	out, err := s.Load()
	require.NoError(t, err)
	assert.Equal(t, []registry.Record{rec("a", 2)}, out)
}

func TestReopenKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	var batch []registry.Record
	for i := range 1000 {
		batch = append(batch, rec(fmt.Sprintf("c%04d", i), uint16(i+1)))
	}
	require.NoError(t, s.Save(batch, nil))
	require.NoError(t, s.Close())

	s = openT(t, dir)
	out, err := s.Load()
	require.NoError(t, err)
	assert.Equal(t, batch, out)
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir)
	require.NoError(t, err)

	start := time.Now()
	_, err = Open(dir, WithLockTimeout(100*time.Millisecond))
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), "data dir in use by another cliser")
	assert.Contains(t, err.Error(), dir)
	assert.Less(t, time.Since(start), 10*time.Second, "it gives up instead of hanging")

	_, err = Open(dir, WithLockTimeout(0))
	require.ErrorIs(t, err, ErrInUse, "a zero timeout means one try, not forever")

	require.NoError(t, first.Close())
	again, err := Open(dir, WithLockTimeout(100*time.Millisecond))
	require.NoError(t, err, "the lock goes with Close")
	require.NoError(t, again.Close())
}

// helperEnv selects what TestHelperProcess does when this test binary is
// run again as a child process.
const helperEnv = "LOGSTORE_HELPER"

// TestHelperProcess is not a test: it is the body of the child process of
// the multi-process tests below. It does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	mode, dir := os.Getenv(helperEnv), os.Getenv(helperEnv+"_DIR")
	if mode == "" {
		t.Skip("child-process body; run by other tests")
	}
	s, err := Open(dir, WithLockTimeout(200*time.Millisecond))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	switch mode {
	case "hold":
		fmt.Println("LOCKED")
	case "compact-written", "compact-renamed", "compact-appended":
		helperCompact(s, strings.TrimPrefix(mode, "compact-"), false)
	case "idle-written", "idle-renamed":
		helperCompact(s, strings.TrimPrefix(mode, "idle-"), true)
	case "save":
		var batch []registry.Record
		for i := range 100 {
			batch = append(batch, rec(fmt.Sprintf("k%03d", i), uint16(i+1)))
		}
		if err := s.Save(batch, nil); err != nil {
			fmt.Println("ERR", err)
			os.Exit(4)
		}
		fmt.Println("SAVED")
	}
	// Wait to be killed: no Close, no clean exit.
	select {}
}

func startHelper(t *testing.T, mode, dir string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperEnv+"_DIR="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, tied.Start(cmd))
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

func TestOpenRefusedWhileAnotherProcessHoldsTheDir(t *testing.T) {
	dir := t.TempDir()
	_, lines := startHelper(t, "hold", dir)
	require.True(t, lines.Scan(), "child said nothing")
	require.Equal(t, "LOCKED", lines.Text())

	_, err := Open(dir, WithLockTimeout(100*time.Millisecond))
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), "data dir in use by another cliser")
}

func TestSavedBatchSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	cmd, lines := startHelper(t, "save", dir)
	require.True(t, lines.Scan(), "child said nothing")
	require.Equal(t, "SAVED", lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	s := openT(t, dir, WithLockTimeout(time.Second))
	out, err := s.Load()
	require.NoError(t, err)
	require.Len(t, out, 100)
	assert.Equal(t, rec("k042", 43), out[42])
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice is harmless")

	require.ErrorIs(t, s.Save([]registry.Record{rec("a", 1)}, nil), ErrClosed)
	_, err = s.Load()
	require.ErrorIs(t, err, ErrClosed)
}

// writeRaw puts a value straight into a previous build's registry.db,
// bypassing the encoder, as a corrupt or future-version file would hold
// it; the next Open migrates it as it is.
func writeRaw(t *testing.T, dir, key, value string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, LegacyName), 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(clientsBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	}))
}

func TestLoadRefusesCorruptAndNewerRecords(t *testing.T) {
	dir := t.TempDir()
	good, err := appendRecord(nil, rec("a", 1))
	require.NoError(t, err)
	writeRaw(t, dir, "a", string(good))
	writeRaw(t, dir, "bad", `{"v":1,"cid":"bad","sid":"x"}`)
	s := openT(t, dir)
	_, err = s.Load()
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), `"bad"`)
	require.NoError(t, s.Close())

	dir = t.TempDir()
	writeRaw(t, dir, "bad", `{"v":7,"cid":"bad"}`)
	s = openT(t, dir)
	_, err = s.Load()
	require.ErrorIs(t, err, ErrVersion)
	assert.Contains(t, err.Error(), "7")
	require.NoError(t, s.Close())

	// The same in the log.
	dir = t.TempDir()
	s = openT(t, dir)
	require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil))
	frame, at := beginFrame(nil)
	frame = sealFrame(appendPut(frame, []byte("bad"), []byte(`{"v":7,"cid":"bad"}`)), at)
	_, err = s.log.WriteAt(frame, s.logEnd)
	require.NoError(t, err)
	s.logEnd += int64(len(frame))
	s.logEntries++
	_, err = s.Load()
	require.ErrorIs(t, err, ErrVersion)
	assert.Contains(t, err.Error(), LogName)
}

func TestOpenMigratesAFileWithoutTheBucket(t *testing.T) {
	// A file from bbolt without the bucket (an interrupted first start)
	// is an empty registry, not refused.
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, LegacyName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	s := openT(t, dir)
	require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil))
	out, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, out, 1)
}

func TestConcurrentSaveAndLoad(t *testing.T) {
	s := openT(t, t.TempDir())
	const writers, batches, per = 4, 20, 10
	var wg, readers sync.WaitGroup
	var done atomic.Bool
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var batch []registry.Record
				for i := range per {
					batch = append(batch, rec(fmt.Sprintf("w%d-%03d", w, b*per+i), uint16(i+1)))
				}
				assert.NoError(t, s.Save(batch, nil))
			}
		})
	}
	readers.Go(func() {
		last := 0
		for !done.Load() {
			out, err := s.Load()
			if !assert.NoError(t, err) {
				return
			}
			// Every Save is atomic: a reader sees whole batches only.
			assert.Zero(t, len(out)%per, "half a batch visible")
			assert.GreaterOrEqual(t, len(out), last, "records vanished")
			last = len(out)
		}
	})
	wg.Wait()
	done.Store(true)
	readers.Wait()
	out, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, out, writers*batches*per)
}

// benchStore is an open store in a temporary dir, closed at the end, and
// n records to save into it.
func benchStore(b *testing.B, n int) (*Store, []registry.Record) {
	s, err := Open(b.TempDir())
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	batch := make([]registry.Record, n)
	for i := range batch {
		batch[i] = rec(fmt.Sprintf("pos-%05d", i), uint16(i+1))
	}
	return s, batch
}

// benchLoop reports allocations and runs op for every round, failing on
// its first error.
func benchLoop(b *testing.B, op func() error) {
	b.ReportAllocs()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSave100(b *testing.B) {
	s, batch := benchStore(b, 100)
	benchLoop(b, func() error { return s.Save(batch, nil) })
}

func BenchmarkLoad10k(b *testing.B) {
	s, batch := benchStore(b, 10000)
	require.NoError(b, s.Save(batch, nil))
	benchLoop(b, func() error { _, err := s.Load(); return err })
}

// BenchmarkSaveCheckpoint50k is a checkpoint with 50k clients connected:
// every connected record rewritten in one transaction, by the flusher.
func BenchmarkSaveCheckpoint50k(b *testing.B) {
	s, batch := benchStore(b, 50_000)
	require.NoError(b, s.Save(batch, nil))
	benchLoop(b, func() error { return s.Save(batch, nil) })
}

// An upgrade, a downgrade to a build before the snapshot and the log
// (which makes a new registry.db), and the upgrade again: the second
// registry.db is refused, naming both ways on, and nothing is replaced
// or overwritten. Following the first way keeps this build's records.
func TestOpenRefusesARegistryDBMadeAfterTheMigration(t *testing.T) {
	dir := t.TempDir()
	good, err := appendRecord(nil, rec("before-upgrade", 1))
	require.NoError(t, err)
	writeRaw(t, dir, "before-upgrade", string(good))
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Save([]registry.Record{rec("after-upgrade", 2)}, nil))
	require.NoError(t, s.Close())
	retired, err := os.ReadFile(filepath.Join(dir, LegacyName+MigratedSuffix))
	require.NoError(t, err)

	downgraded, err := appendRecord(nil, rec("after-downgrade", 3))
	require.NoError(t, err)
	writeRaw(t, dir, "after-downgrade", string(downgraded)) // the older build's new registry.db
	_, err = Open(dir)
	require.ErrorIs(t, err, ErrTwoBuilds)
	legacy := filepath.Join(dir, LegacyName)
	assert.Contains(t, err.Error(), "mv "+legacy+" "+legacy+".downgrade")
	assert.Contains(t, err.Error(), "move "+SnapName+", "+LogName+" and "+LegacyName+MigratedSuffix+" away")
	after, err := os.ReadFile(filepath.Join(dir, LegacyName+MigratedSuffix))
	require.NoError(t, err)
	assert.Equal(t, retired, after, "the retired file is not overwritten")

	require.NoError(t, os.Rename(legacy, legacy+".downgrade"))
	s = openT(t, dir)
	out, err := s.Load()
	require.NoError(t, err)
	var cids []string
	for _, r := range out {
		cids = append(cids, r.CID)
	}
	assert.ElementsMatch(t, []string{"before-upgrade", "after-upgrade"}, cids)
}

// A snapshot of records without its log (removed, or left out of a copy)
// is said: the changes since the snapshot are lost.
func TestOpenSaysALogMissingBesideASnapshot(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil))
	require.NoError(t, s.compact())
	require.NoError(t, s.Close())
	s = openT(t, dir)
	assert.False(t, s.MissingLog(), "a log beside its snapshot")
	require.NoError(t, s.Close())

	require.NoError(t, os.Remove(filepath.Join(dir, LogName)))
	s = openT(t, dir)
	assert.True(t, s.MissingLog())
	out, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, out, 1, "the snapshot's records")
	require.NoError(t, s.Close())
	s = openT(t, dir)
	assert.False(t, s.MissingLog(), "said once: the start made the log again")
}
