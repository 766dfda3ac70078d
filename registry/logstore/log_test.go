package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// withCompactMin makes compactions due after n log entries (the snapshot's
// size still counts), so tests see many.
func withCompactMin(n int) Option { return func(o *options) { o.compactMin = n } }

// model is what the store must give back: each cid's last saved record.
type model map[string]registry.Record

func (m model) save(put []registry.Record, gone []string) {
	for _, cid := range gone {
		delete(m, cid)
	}
	for _, r := range put {
		m[r.CID] = r
	}
}

func (m model) records() []registry.Record {
	out := make([]registry.Record, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b registry.Record) int { return strings.Compare(a.CID, b.CID) })
	return out
}

// churn is a batch of a random mix of new, changed and deleted records
// among `keys` cids, applied to m as the store should apply it.
func churn(rng *rand.Rand, m model, keys, n int, step uint16) (put []registry.Record, gone []string) {
	for range n {
		cid := fmt.Sprintf("dev-%d", rng.IntN(keys))
		if rng.IntN(4) == 0 {
			gone = append(gone, cid)
			continue
		}
		r := rec(cid, step)
		r.CStatus = rng.IntN(2) == 0
		if !r.CStatus {
			r.DisconnectedAt, r.Reason = t2, protocol.ReasonClosedByClient
		}
		// One record per cid in a batch, as the registry hands them.
		put = slices.DeleteFunc(put, func(p registry.Record) bool { return p.CID == cid })
		put = append(put, r)
	}
	m.save(put, gone)
	return put, gone
}

// loadEquals checks that Load gives exactly the model.
func loadEquals(t *testing.T, s *Store, m model) {
	t.Helper()
	got, err := s.Load()
	require.NoError(t, err)
	require.Equal(t, m.records(), got)
}

// crash drops s as a kill -9 would: no Close beyond the file's.
func crash(t *testing.T, s *Store) {
	t.Helper()
	require.NoError(t, s.log.Close())
	s.log = nil
	if s.snap != nil {
		require.NoError(t, s.snap.Close())
		s.snap = nil
	}
}

// Many batches of changes, with frequent compactions: after every Save
// and across reopens, Load is each cid's last state, and the log never
// holds more than its bound and a batch.
func TestCompactionsKeepTheLastStateAndStayBounded(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(40))
	rng := rand.New(rand.NewPCG(17, 17))
	m := model{}
	const batch = 12
	compactions := 0
	for i := range 300 {
		before := s.logEntries
		put, gone := churn(rng, m, 60, batch, uint16(i+1))
		require.NoError(t, s.Save(put, gone))
		if s.logEntries < before {
			compactions++
		}
		require.LessOrEqual(t, s.logEntries, s.bound()+batch, "the log is bounded")
		loadEquals(t, s, m)
		if i%50 == 49 {
			if i%100 == 99 {
				require.NoError(t, s.Close())
			} else {
				crash(t, s)
			}
			s = openT(t, dir, withCompactMin(40))
			loadEquals(t, s, m)
		}
	}
	assert.Greater(t, compactions, 20, "compactions ran")
	_, err := os.Stat(filepath.Join(dir, SnapName+tmpSuffix))
	assert.ErrorIs(t, err, os.ErrNotExist, "no temporary file left")
}

// A burst's Saves leave the compaction to the second quiet one in a row,
// unless the log reaches burstFactor bounds; what Load gives never depends on when it
// ran.
func TestBurstsLeaveTheCompactionToAQuietSave(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(100))
	m := model{}
	burst := func(from int) {
		var put []registry.Record
		for i := range quietBatch + 44 {
			put = append(put, rec(fmt.Sprintf("burst-%d", from+i), 1))
		}
		m.save(put, nil)
		require.NoError(t, s.Save(put, nil))
	}
	burst(0)
	require.Equal(t, quietBatch+44, s.logEntries, "no compaction in a burst")
	loadEquals(t, s, m)

	quiet := []registry.Record{rec("quiet", 2)}
	m.save(quiet, nil)
	require.NoError(t, s.Save(quiet, nil))
	require.Equal(t, quietBatch+45, s.logEntries, "one quiet Save after a burst may be its last flush")
	require.NoError(t, s.Save(quiet, nil))
	require.Zero(t, s.logEntries, "the second quiet Save in a row compacted")
	require.Equal(t, len(m), s.snapCount)
	loadEquals(t, s, m)

	for i := range burstFactor + 1 {
		burst(1000 * (i + 1))
	}
	require.Less(t, s.logEntries, burstFactor*s.bound(), "past burstFactor bounds a burst compacts too")
	loadEquals(t, s, m)
}

// The crash points of a compaction: the helper saves helperBatches with
// a compaction due on the last, stops at the stage and waits to be killed.
// Whatever the stage, the next Open loads every saved batch.
func TestCrashDuringACompactionLosesNothing(t *testing.T) {
	for _, stage := range []string{"appended", "written", "renamed"} {
		t.Run(stage, func(t *testing.T) {
			s := killedAt(t, "compact-"+stage, stage)
			switch stage {
			case "appended", "written":
				assert.Positive(t, s.logEntries, "the log was not emptied")
			case "renamed":
				assert.Positive(t, s.logEntries, "the log was not emptied")
				assert.Positive(t, s.snapCount, "the new snapshot is in place")
			}
			loadEquals(t, s, helperModel())
			require.NoError(t, s.Save([]registry.Record{rec("after", 1)}, nil))
			m := helperModel()
			m.save([]registry.Record{rec("after", 1)}, nil)
			loadEquals(t, s, m)
		})
	}
}

// killedAt runs the helper in mode until it says it is at stage, kills
// it with SIGKILL and opens what it left.
func killedAt(t *testing.T, mode, stage string) *Store {
	t.Helper()
	dir := t.TempDir()
	cmd, lines := startHelper(t, mode, dir)
	require.True(t, lines.Scan(), "child said nothing")
	require.Equal(t, "AT "+stage, lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	return openT(t, dir, WithLockTimeout(time.Second))
}

const helperSaves = 20

// helperBatches are the helper's saves: the same every run.
func helperBatches(f func(i int, put []registry.Record, gone []string)) {
	rng := rand.New(rand.NewPCG(5, 5))
	m := model{}
	for i := range helperSaves {
		put, gone := churn(rng, m, 30, 10, uint16(i+1))
		f(i, put, gone)
	}
}

func helperModel() model {
	m := model{}
	helperBatches(func(_ int, put []registry.Record, gone []string) { m.save(put, gone) })
	return m
}

// helperCompact is TestHelperProcess's "compact-<stage>": a first
// compaction halfway, so there is an old snapshot to merge, then the
// batches up to the last, whose compaction stops at stage ("appended":
// every batch in the log, no compaction begun). With idle, the last
// batch's Save compacts nothing, and Idle's compaction stops at stage.
func helperCompact(s *Store, stage string, idle bool) {
	s.o.compactMin = 1 << 30
	stopAt := func() {
		s.o.compactMin = 1
		s.hook = func(at string) {
			if at == stage {
				fmt.Println("AT " + stage)
				select {}
			}
		}
	}
	defer func() {
		if idle {
			stopAt()
			if err := s.Idle(); err != nil {
				fmt.Println("ERR", err)
				os.Exit(4)
			}
			fmt.Println("ERR the compaction finished")
			os.Exit(5)
		}
	}()
	helperBatches(func(i int, put []registry.Record, gone []string) {
		switch i {
		case helperSaves / 2:
			s.o.compactMin = 1
		case helperSaves/2 + 1:
			s.o.compactMin = 1 << 30
		case helperSaves - 1:
			if stage == "appended" || idle {
				break // the log holds it all, the compaction is not due yet
			}
			stopAt()
		}
		if err := s.Save(put, gone); err != nil {
			fmt.Println("ERR", err)
			os.Exit(4)
		}
		if i == helperSaves-1 && stage == "appended" {
			fmt.Println("AT appended")
			select {}
		}
	})
	if !idle {
		fmt.Println("ERR the compaction finished")
		os.Exit(5)
	}
}

// A registry.snap.tmp left by a crash in the middle of writing it is not
// the snapshot: Open ignores it and the next compaction replaces it.
func TestStaleTemporarySnapshotIsIgnored(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, SnapName+tmpSuffix), []byte("CLSNAP\x00\x01half a"), 0o600))
	s := openT(t, dir, withCompactMin(2))
	m := model{}
	put := []registry.Record{rec("a", 1), rec("b", 2)}
	m.save(put, nil)
	require.NoError(t, s.Save(put, nil))
	require.Zero(t, s.logEntries, "compacted")
	loadEquals(t, s, m)
	_, err := os.Stat(filepath.Join(dir, SnapName+tmpSuffix))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// savedDir is a data dir with a snapshot of a and b and a log holding c's
// put and a's deletion, closed.
func savedDir(t *testing.T) (string, model) {
	t.Helper()
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(2))
	m := model{}
	for _, b := range []struct {
		put  []registry.Record
		gone []string
	}{
		{[]registry.Record{rec("a", 1), rec("b", 2)}, nil}, // compacts
		{[]registry.Record{rec("c", 3)}, nil},
		{nil, []string{"a"}},
	} {
		m.save(b.put, b.gone)
		require.NoError(t, s.Save(b.put, b.gone))
		s.o.compactMin = 100
	}
	require.Equal(t, 2, s.snapCount)
	require.Equal(t, 2, s.logEntries)
	require.NoError(t, s.Close())
	return dir, m
}

// A log whose last frame was cut short, or followed by zeros, is a Save
// that never returned: it is dropped and the frames before it stay. A
// byte changed inside a whole frame is damage: Open refuses, naming the
// file and what to do.
func TestOpenTrimsATornLogAndRefusesADamagedOne(t *testing.T) {
	dir, m := savedDir(t)
	path := filepath.Join(dir, LogName)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)

	for name, bytes := range map[string][]byte{
		"cut short": raw[:len(raw)-3],
		"zeros":     append(slices.Clone(raw), make([]byte, 100)...),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, bytes, 0o600))
			core, logs := observer.New(zap.InfoLevel)
			s := openT(t, dir, WithLogger(zap.New(core)))
			said := logs.FilterMessageSnippet("ended in a write cut short").All()
			require.Len(t, said, 1, "the dropped tail is said, once")
			assert.Equal(t, path, said[0].ContextMap()["file"])
			want := model{}
			for k, v := range m {
				want[k] = v
			}
			if name == "cut short" { // a's deletion was the last frame
				want["a"] = rec("a", 1)
			}
			loadEquals(t, s, want)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.LessOrEqual(t, fi.Size(), int64(len(raw)), "the torn frame is cut off")
			assert.EqualValues(t, int64(len(bytes))-fi.Size(), said[0].ContextMap()["dropped_bytes"])
			require.NoError(t, s.Close())
		})
	}

	for name, hurt := range map[string]func([]byte){
		"a flipped byte":    func(b []byte) { b[headerLen+frameHead+3] ^= 0x20 },
		"a bad frame head":  func(b []byte) { b[headerLen] = 0xff; b[headerLen+3] = 0x7f },
		"another file kind": func(b []byte) { copy(b, snapMagic[:]) },
		"a newer version":   func(b []byte) { b[headerLen-1] = formatVersion + 1 },
	} {
		t.Run(name, func(t *testing.T) {
			b := slices.Clone(raw)
			hurt(b)
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err := Open(dir)
			require.ErrorIs(t, err, ErrDamaged)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), "move it away")
			assert.Contains(t, err.Error(), "from the last snapshot, registry.snap (2 records; the changes since it are lost but for the clients the event log holds, when on)")
			assert.Contains(t, err.Error(), "backup")
		})
	}
}

// With no snapshot every record is in the log: moving a damaged one away
// starts with none, and the refusal says so rather than offer a snapshot
// that is not there.
func TestDamagedLogWithoutASnapshotSaysMovingItAwayLosesAll(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	require.NoError(t, s.Save([]registry.Record{rec("a", 1), rec("b", 2)}, nil))
	require.NoError(t, s.Close())
	require.NoFileExists(t, filepath.Join(dir, SnapName))
	path := filepath.Join(dir, LogName)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[headerLen+frameHead+3] ^= 0x20
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = Open(dir)
	require.ErrorIs(t, err, ErrDamaged)
	assert.Contains(t, err.Error(), "with an empty registry (there is no snapshot: every record is in the log) but for the clients the event log holds, when on")
	assert.NotContains(t, err.Error(), "last snapshot")
}

// A log that was there but holds no whole header (emptied, or cut
// inside its first 8 bytes: a full disk, a bad copy) is taken as new,
// and EmptyFile says so and what starting on it means: the snapshot's
// records, or none. Before, it was taken without a word, and the changes
// it held were gone unannounced. A log Open makes is not reported.
func TestOpenSaysALogWithoutAHeaderWasTakenAsNew(t *testing.T) {
	for _, size := range []int{0, 4} {
		t.Run(fmt.Sprintf("%d bytes, after a snapshot", size), func(t *testing.T) {
			dir, _ := savedDir(t)
			path := filepath.Join(dir, LogName)
			require.NoError(t, os.Truncate(path, int64(size)))
			s := openT(t, dir)
			got, starting := s.EmptyFile()
			assert.Equal(t, path, got)
			assert.Equal(t, "starting from the 2 records of registry.snap; the changes since it, if the log held any, are lost", starting)
			loadEquals(t, s, model{"a": rec("a", 1), "b": rec("b", 2)})
		})
		t.Run(fmt.Sprintf("%d bytes, no snapshot", size), func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir)
			require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil))
			require.NoError(t, s.Close())
			path := filepath.Join(dir, LogName)
			require.NoError(t, os.Truncate(path, int64(size)))
			s = openT(t, dir)
			got, starting := s.EmptyFile()
			assert.Equal(t, path, got)
			assert.Equal(t, "starting with an empty registry", starting)
			loadEquals(t, s, model{})
		})
	}
	dir := t.TempDir()
	s := openT(t, dir)
	require.NoError(t, s.Close())
	s = openT(t, dir) // the header Open wrote: a log, empty but whole
	got, _ := s.EmptyFile()
	assert.Empty(t, got)
}

// A snapshot missing beside a log that follows it (removed while the
// server was stopped, left out of a copy of the data dir) is refused:
// starting on the log alone lost every client the snapshot held without
// a word. An empty one put in its place starts on the log's changes, as
// the refusal says, with EmptyFile's warning; a data dir that never had
// a snapshot starts as before.
func TestOpenRefusesALogWhoseSnapshotIsMissing(t *testing.T) {
	dir, _ := savedDir(t)
	s := openT(t, dir)
	require.NoError(t, s.Save([]registry.Record{rec("c", 3)}, nil))
	require.NoError(t, s.Close())
	snap := filepath.Join(dir, SnapName)
	require.NoError(t, os.Rename(snap, snap+".elsewhere"))

	_, err := Open(dir)
	require.ErrorIs(t, err, ErrMissing)
	assert.Contains(t, err.Error(), snap+": registry.log holds only the changes since a snapshot, and the snapshot is gone")
	assert.Contains(t, err.Error(), "touch "+snap)

	require.NoError(t, os.WriteFile(snap, nil, 0o600))
	s = openT(t, dir)
	got, starting := s.EmptyFile()
	assert.Equal(t, snap, got)
	assert.Equal(t, "starting with only the changes its log holds (the clients of the last minutes)", starting)
	loadEquals(t, s, model{"c": rec("c", 3)})
	require.NoError(t, s.Close())

	fresh := t.TempDir()
	s = openT(t, fresh)
	require.NoError(t, s.Save([]registry.Record{rec("a", 1)}, nil))
	require.NoError(t, s.Close())
	s = openT(t, fresh)
	loadEquals(t, s, model{"a": rec("a", 1)})
}

// A damaged snapshot is refused at Open, whatever the damage.
func TestOpenRefusesADamagedSnapshot(t *testing.T) {
	dir, _ := savedDir(t)
	path := filepath.Join(dir, SnapName)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for name, hurt := range map[string]func([]byte) []byte{
		"truncated":       func(b []byte) []byte { return b[:len(b)-5] },
		"without its end": func(b []byte) []byte { return b[:len(b)-frameHead-2] },
		"a flipped byte":  func(b []byte) []byte { b[headerLen+frameHead+4] ^= 1; return b },
		"bytes after it":  func(b []byte) []byte { return append(b, 1, 2, 3) },
		"a newer version": func(b []byte) []byte { b[headerLen-1]++; return b },
		"a log's header":  func(b []byte) []byte { copy(b, logMagic[:]); return b },
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, hurt(slices.Clone(raw)), 0o600))
			_, err := Open(dir)
			require.ErrorIs(t, err, ErrDamaged)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), "move it away")
			assert.Contains(t, err.Error(), "backup")
		})
	}
}

// The previous build kept every record in registry.db (bbolt): its file,
// written by that build and committed as testdata, becomes the first
// snapshot at the first Open and is renamed registry.db.migrated.
func TestOpenMigratesAFileOfThePreviousBuild(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "registry-v1-clients.db"))
	require.NoError(t, err)
	dir := t.TempDir()
	legacy := filepath.Join(dir, LegacyName)
	require.NoError(t, os.WriteFile(legacy, raw, 0o600))

	core, logs := observer.New(zap.InfoLevel)
	s := openT(t, dir, WithLogger(zap.New(core)))
	assert.Equal(t, 1, logs.FilterMessageSnippet("copied into "+SnapName+" and kept as "+LegacyName+MigratedSuffix).Len(),
		"the migration is said: %v", logs.All())
	got, err := s.Load()
	require.NoError(t, err)
	at := time.Date(2026, 11, 25, 19, 1, 58, 0, time.UTC)
	require.Equal(t, []registry.Record{
		{SID: 1, CID: "old-connected", CIP: "192.0.2.1", CPort: "40001", CStatus: true,
			ConnectedAt: at, LastSeen: at.Add(time.Second)},
		{SID: 2, CID: "old-gone", CIP: "192.0.2.2", CPort: "40002", ConnectedAt: at, LastSeen: at,
			DisconnectedAt: at.Add(time.Minute), Reason: protocol.ReasonKeepaliveTimeout},
	}, got, "the old file's records")
	assert.NoFileExists(t, legacy)
	assert.FileExists(t, legacy+MigratedSuffix)
	assert.Equal(t, 2, s.snapCount)

	m := model{}
	for _, r := range got {
		m[r.CID] = r
	}
	put := []registry.Record{rec("new-one", 7), rec("old-connected", 9)}
	m.save(put, []string{"old-gone"})
	require.NoError(t, s.Save(put, []string{"old-gone"}))
	require.NoError(t, s.Close())
	s = openT(t, dir)
	loadEquals(t, s, m)
}

// bitwiseCRC32C is CRC-32C computed bit by bit, apart from hash/crc32, to
// check the golden frames' checksums.
func bitwiseCRC32C(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

// goldenLog and goldenSnap pin the files' format: a change to these bytes
// is a change of the on-disk format and needs a new formatVersion.
var (
	goldenLog = "CLSLOG\x00\x01" +
		"\xb6\x00\x00\x00" + "\x11\x52\x52\xd4" + // a frame: length, CRC-32C
		"D\x01x" +
		"P\x08pos-0042\xa5\x00\x00\x00" + goldenRecords[0].enc
	goldenSnap = "CLSNAP\x00\x01" +
		"\xb3\x00\x00\x00" + "\x97\xfc\x03\x24" +
		"P\x08pos-0042\xa5\x00\x00\x00" + goldenRecords[0].enc +
		"\x02\x00\x00\x00" + "\x7e\xcb\x35\xa1" + "E\x01"
	// goldenMarkedLog: the log a compaction leaves, its snapshot mark a
	// deletion of a cid no client has, which earlier builds read as one.
	goldenMarkedLog = "CLSLOG\x00\x01" +
		"\x0b\x00\x00\x00" + "\x9f\x10\xb0\xc9" +
		"D\x09\x00snapshot"
)

func TestGoldenFiles(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	require.NoError(t, s.Save([]registry.Record{goldenRecords[0].rec}, []string{"x"}))
	raw, err := os.ReadFile(filepath.Join(dir, LogName))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%q", goldenLog), fmt.Sprintf("%q", raw))

	s.o.compactMin = 1
	require.NoError(t, s.Save([]registry.Record{goldenRecords[0].rec}, []string{"x"}))
	raw, err = os.ReadFile(filepath.Join(dir, SnapName))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%q", goldenSnap), fmt.Sprintf("%q", raw))
	raw, err = os.ReadFile(filepath.Join(dir, LogName))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%q", goldenMarkedLog), fmt.Sprintf("%q", raw))

	for _, f := range []string{goldenLog, goldenSnap, goldenMarkedLog} { // the first frame's checksum
		payload := []byte(f[headerLen+frameHead:][:int(f[headerLen])])
		assert.Equal(t, bitwiseCRC32C(payload), binary.LittleEndian.Uint32([]byte(f[headerLen+4:])))
	}

	var seen []string
	_, err = scanLog([]byte(goldenLog), func(_ int, e entry) error {
		seen = append(seen, fmt.Sprintf("%c %s %s", e.kind, e.cid, e.value))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"D x ", "P pos-0042 " + goldenRecords[0].enc}, seen)
	n, err := scanSnapshot([]byte(goldenSnap), func(int, entry) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// reencode writes an entry back as the store writes it.
func reencode(e entry) []byte {
	switch e.kind {
	case kindPut:
		return appendPut(nil, e.cid, e.value)
	case kindDelete:
		return appendDelete(nil, string(e.cid))
	}
	return appendEnd(nil, e.count)
}

// FuzzDecodeEntry: the entry parser never panics, its errors wrap
// ErrCorrupt, and what it accepts encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(goldenLog[headerLen+frameHead:]))
	f.Add([]byte(goldenMarkedLog[headerLen+frameHead:]))
	f.Add([]byte(goldenSnap[len(goldenSnap)-2:]))
	f.Add([]byte("D\x81\x00x"))
	f.Add([]byte("P\x01x\x00\x00\x00\x00"))
	f.Add([]byte("P\x01x\xff\xff\xff\xff"))
	f.Add([]byte("E\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, n, err := decodeEntry(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if e.kind != kindEnd && len(e.cid) == 0 {
			t.Fatalf("accepted an entry without a cid: %q", b)
		}
		if again := reencode(e); string(again) != string(b[:n]) {
			t.Fatalf("not stable: %q then %q", b[:n], again)
		}
	})
}

// FuzzScanFiles: the file parsers never panic on any bytes, fail with a
// sentinel (or errShort, a file cut short), and never report an end past
// the bytes.
func FuzzScanFiles(f *testing.F) {
	f.Add([]byte(goldenLog))
	f.Add([]byte(goldenSnap))
	f.Add([]byte(goldenLog[:len(goldenLog)-4]))
	f.Add([]byte(goldenSnap[:len(goldenSnap)-3]))
	f.Add(append([]byte(goldenLog), 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte(goldenMarkedLog))
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := scanLog(b, func(_ int, e entry) error {
			if e.kind != kindPut && e.kind != kindDelete {
				t.Fatalf("the log gave an entry of kind %q", e.kind)
			}
			return nil
		})
		if err != nil && !isSentinel(err) && !isShort(err) {
			t.Fatalf("log: error wraps no sentinel: %v", err)
		}
		if end > len(b) {
			t.Fatalf("end %d past %d bytes", end, len(b))
		}
		_, err = scanSnapshot(b, func(_ int, e entry) error {
			if e.kind != kindPut {
				t.Fatalf("the snapshot gave an entry of kind %q", e.kind)
			}
			return nil
		})
		if err != nil && !isSentinel(err) && !isShort(err) {
			t.Fatalf("snapshot: error wraps no sentinel: %v", err)
		}
	})
}

func isShort(err error) bool { return errors.Is(err, errShort) }

// A compaction works in mappings, not on the Go heap: over 20 000 records
// and as many log entries it allocates a few small structs (its table and
// the files are mapped, its buffer is the store's), so it grows neither
// the heap nor, at GOGC=50, the headroom the GC keeps above it.
func TestCompactionAllocatesAlmostNothing(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(1<<30))
	fill := func(step uint16) { fill20k(t, s, step) }
	fill(1)
	require.NoError(t, s.compact()) // the snapshot, and the kept buffer grown
	fill(2)
	require.Equal(t, 20_000, s.logEntries)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, s.compact())
	runtime.ReadMemStats(&after)
	t.Logf("a compaction: %d B, %d allocations", after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<10), "bytes allocated by a compaction")
	assert.Less(t, after.Mallocs-before.Mallocs, uint64(100), "allocations of a compaction")
	assert.Equal(t, 20_000, s.snapCount)
	got, err := s.Load()
	require.NoError(t, err)
	require.Len(t, got, 20_000)
	assert.Equal(t, uint16(2), got[0].SID)
}

// A snapshot that cannot be written leaves the Save that tried it a
// success (its batch is saved), is said by UpkeepErr until one succeeds,
// and is not tried again on every Save but once the log has grown by
// another bound.
func TestFailedCompactionKeepsTheBatchAndWaits(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(10), WithCompactRetry(time.Hour))
	blocker := filepath.Join(dir, SnapName+tmpSuffix)
	require.NoError(t, os.Mkdir(blocker, 0o700)) // the temporary file cannot be created
	m := model{}
	put := make([]registry.Record, 10)
	for i := range put {
		put[i] = rec(fmt.Sprintf("c%d", i), 1)
	}
	m.save(put, nil)
	require.NoError(t, s.Save(put, nil), "the batch is saved")
	require.ErrorContains(t, s.UpkeepErr(), "writing a new registry.snap fails since ")
	assert.ErrorContains(t, s.UpkeepErr(), "every change is in registry.log")
	assert.Equal(t, uint64(1), s.Stats().CompactFailures)
	loadEquals(t, s, m)

	one := []registry.Record{rec("c-next", 2)}
	m.save(one, nil)
	require.NoError(t, s.Save(one, nil), "not retried on the next Save")
	require.NoError(t, os.Remove(blocker))
	for i := 0; s.logEntries > 0; i++ {
		require.Less(t, i, 20, "never retried")
		b := []registry.Record{rec(fmt.Sprintf("d%d", i), 3)}
		m.save(b, nil)
		require.NoError(t, s.Save(b, nil))
	}
	assert.Equal(t, len(m), s.snapCount)
	assert.NoError(t, s.UpkeepErr(), "said until one succeeds")
	loadEquals(t, s, m)
}

// Load decodes each cid's last state only: its garbage does not grow with
// the changes the log holds (a restart after a long log decodes as many
// records as after a short one), and the state is the last one.
func TestLoadDecodesEachRecordOnce(t *testing.T) {
	s := openT(t, t.TempDir(), withCompactMin(1<<30))
	m := model{}
	save := func(put []registry.Record) {
		m.save(put, nil)
		require.NoError(t, s.Save(put, nil))
	}
	save(manyRecords("once", 300))
	short := testing.AllocsPerRun(3, func() { _, _ = s.Load() })
	for step := range 3 {
		put := manyRecords("once", 300)
		for i := range put {
			put[i].SID = uint16(1000 + step)
		}
		save(put)
	}
	require.Equal(t, 1200, s.logEntries)
	long := testing.AllocsPerRun(3, func() { _, _ = s.Load() })
	require.LessOrEqual(t, long, short*1.1, "a log 4 times as long: %v allocations against %v", long, short)
	loadEquals(t, s, m)
}
