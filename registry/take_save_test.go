package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
)

// A take of a burst's records reaches the log store in one Save, so one
// fdatasync (~200-300 us of CPU on the bench's disk whatever the size),
// where saveChunk made a Save of each 1,024: a burst's 4,000 closes were
// four fdatasyncs, now two, one a take of 2,048 (session 18).
func TestATakeIsOneSaveOfACopyingStore(t *testing.T) {
	s, err := logstore.Open(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	r := registry.New(registry.WithStore(s))
	const n = 4000
	conns := make([]*testConn, n)
	for i := range n {
		_, conns[i] = mustRegister(t, r, fmt.Sprintf("take-%04d", i))
	}
	require.NoError(t, r.Flush())
	st := s.Stats()
	require.Equal(t, uint64(n), st.Entries)
	require.Equal(t, uint64(2), st.Saves, "two takes of 2,048 at most, one Save each")
	require.Equal(t, uint64(2), st.Syncs)

	for i := range 1500 {
		r.Disconnect(fmt.Sprintf("take-%04d", i), conns[i], protocol.ReasonClosedByClient)
	}
	require.NoError(t, r.Flush())
	st = s.Stats()
	require.Equal(t, uint64(n+1500), st.Entries)
	require.Equal(t, uint64(3), st.Syncs, "a flush of 1,500 is one fdatasync")
	recs, err := s.Load()
	require.NoError(t, err)
	require.Len(t, recs, n)
	require.False(t, recs[0].CStatus)
	require.True(t, recs[n-1].CStatus)
}

// A burst's Saves are never quiet, so the log store's compaction waited
// through bursts until the log reached four bounds and then ran inside
// one. Run tells the store once its flushes have found nothing to write
// for idleFlushes in a row, and the compaction runs then. A failing one
// is the store's upkeep, seen in UpkeepErr and said once, not a failed
// flush: nothing waits to be written, so StoreErr (/readyz's 503) stays
// nil. Given room again, the next try within the store's retry ends it,
// though nothing changes; before, the failure stood until the fleet did.
func TestRunLetsTheStoreCompactWhenIdle(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("fail=", fail), func(t *testing.T) {
			dir := t.TempDir()
			s, err := logstore.Open(dir, logstore.WithCompactRetry(20*time.Millisecond))
			require.NoError(t, err)
			defer s.Close()
			core, logs := observer.New(zapcore.InfoLevel)
			r := registry.New(registry.WithStore(s), registry.WithFlushInterval(5*time.Millisecond), registry.WithLogger(zap.New(core)))
			const n = 17_000   // past the log's least bound, 16,384
			for i := range n { // closed: no checkpoint rewrites them
				cid := fmt.Sprintf("idle-%05d", i)
				_, c := mustRegister(t, r, cid)
				r.Disconnect(cid, c, protocol.ReasonClosedByClient)
			}
			require.NoError(t, r.Flush())
			require.Zero(t, s.Stats().Compactions, "a burst's Saves do not compact")
			if fail { // the snapshot's name taken: the rename fails
				require.NoError(t, os.MkdirAll(filepath.Join(dir, logstore.SnapName, "x"), 0o700))
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() { cancel(); <-done }()
			if fail { // said, but the store still writes: nothing waits
				require.Eventually(t, func() bool { return r.UpkeepErr() != nil }, 10*time.Second, 5*time.Millisecond)
				require.ErrorContains(t, r.UpkeepErr(), "registry: writing a new registry.snap fails")
				require.NoError(t, r.StoreErr())
				require.GreaterOrEqual(t, s.Stats().CompactFailures, uint64(1))
				require.NoError(t, os.RemoveAll(filepath.Join(dir, logstore.SnapName)))
				require.Eventually(t, func() bool { return r.UpkeepErr() == nil }, 10*time.Second, 5*time.Millisecond)
				require.Equal(t, uint64(1), s.Stats().Compactions)
				require.Equal(t, 1, logs.FilterMessageSnippet("the store's upkeep fails").Len(), "said once: %v", logs.All())
				require.Equal(t, 1, logs.FilterMessageSnippet("the store's upkeep works again").Len())
				return
			}
			require.Eventually(t, func() bool { return s.Stats().Compactions == 1 }, 10*time.Second, 5*time.Millisecond)
			require.Equal(t, uint64(n), s.Stats().CompactedRecords)
			require.NoError(t, r.StoreErr())
		})
	}
}
