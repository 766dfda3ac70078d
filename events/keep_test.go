package events_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/testkit"
)

// The data dir removed under a running log (rm -rf, a tmp cleaner): its
// writer went on committing into the unlinked file, and the next start
// found an empty log. The writer puts the file back with every event,
// reopens it while readers read, and says so while it cannot.
func TestLogKeepsItsFileWhenTheDataDirIsRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, events.FileName)
	l := openLog(t, path, events.WithCheckEvery(10*time.Millisecond))
	closed := false
	defer func() {
		if !closed {
			_ = l.Close()
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	appendN := func(n int) {
		for range n {
			require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "c"}))
		}
	}
	appendN(100)
	waitNewest(t, l, 100)

	// Readers go on through the swap of the file.
	ctx, stop := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for ctx.Err() == nil {
			evs, err := l.Read(ctx, 0, 1000)
			if ctx.Err() == nil && (!assert.NoError(t, err) || !assert.GreaterOrEqual(t, len(evs), 100)) {
				return
			}
		}
	}()
	defer func() { stop(); readers.Wait() }()

	// Removed, a file where the dir was: not put back yet, and said so.
	testkit.SwapDirForFile(t, dir, []byte("in the way"))
	appendN(100)
	waitNewest(t, l, 200)
	require.Eventually(t, func() bool {
		err := l.Healthy()
		return err != nil && strings.Contains(err.Error(), "restoring it failed")
	}, 5*time.Second, 5*time.Millisecond, "the failed restore in Healthy")
	msg := l.Healthy().Error()
	assert.Contains(t, msg, path)
	assert.Contains(t, msg, "restoring it failed")
	assert.Equal(t, 1.0, gathered(t, reg, events.MetricStoreLost))

	require.NoError(t, os.Remove(dir))
	require.Eventually(t, func() bool { return l.Healthy() == nil }, 5*time.Second, 5*time.Millisecond, "the file put back")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	requireLocked(t, path)
	appendN(50)
	waitNewest(t, l, 250)

	stop()
	readers.Wait()
	closed = true
	require.NoError(t, l.Close())
	requireSeqs(t, path, 250)
}

// Close puts back a file removed since the writer last looked: a
// graceful stop keeps every event.
func TestLogClosePutsTheFileBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, events.FileName)
	l := openLog(t, path, events.WithCheckEvery(time.Hour))
	for range 10 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "c"}))
	}
	waitNewest(t, l, 10)
	require.NoError(t, os.RemoveAll(dir))
	require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "c"}))
	require.NoError(t, l.Close())
	requireSeqs(t, path, 11)
}

// requireSeqs opens the log at path and wants seqs 1 to n in it.
func requireSeqs(t *testing.T, path string, n int) {
	t.Helper()
	l := openLog(t, path)
	defer l.Close()
	assert.Equal(t, uint64(n), l.Newest())
	evs, err := l.Read(context.Background(), 0, n+10)
	require.NoError(t, err)
	require.Len(t, evs, n)
	for i, ev := range evs {
		require.Equal(t, uint64(i+1), ev.Seq)
	}
}

// requireLocked fails unless another holds the lock of the file at path.
func requireLocked(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.ErrorIs(t, fsx.Lock(f, 0), syscall.EWOULDBLOCK, "the file put back is locked again")
}

// gathered is the value of the counter name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// The seq floor file (events.seq) removed under a running log, with the
// data dir or alone: events.db was put back within a second, the floor
// file only at a clean stop, so that after a crash an older events.db put
// back could hand out seqs again (runbook audit). The writer puts it back
// as it found it, once it has one.
func TestLogKeepsItsSeqFloorWhenTheDataDirIsRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, events.FileName)
	floor := filepath.Join(dir, "events.seq")
	l := openLog(t, path, events.WithCheckEvery(10*time.Millisecond))
	defer l.Close()
	for range 10 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "c"}))
	}
	waitNewest(t, l, 10)
	before, err := os.ReadFile(floor)
	require.NoError(t, err)
	assert.Contains(t, string(before), "reserved")

	for _, remove := range []func() error{func() error { return os.RemoveAll(dir) }, func() error { return os.Remove(floor) }} {
		// The writer may put a file back while RemoveAll empties the
		// dir (rmdir: directory not empty): remove again until it goes.
		require.Eventually(t, func() bool { return remove() == nil }, 5*time.Second, time.Millisecond, "removed")
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(floor)
			return err == nil && string(b) == string(before)
		}, 5*time.Second, 5*time.Millisecond, "the floor file put back")
		fi, err := os.Stat(floor)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
}
