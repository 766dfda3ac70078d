package logstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// A log of exactly 64 cids beside a snapshot of others: the table of the
// log's last entries has room to spare, so a snapshot cid it does not hold
// is found missing. Sized to the entries alone, the table was full and
// the probe for such a cid never ended (Load, a restart, hung); a
// mutation audit found that sizing passing every test.
func TestLoadOfALogThatFillsItsSmallestTable(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, withCompactMin(1))
	m := model{}
	snap := []registry.Record{rec("snap-only", 1)}
	m.save(snap, nil)
	require.NoError(t, s.Save(snap, nil)) // compacted into the snapshot
	require.Zero(t, s.logEntries)
	require.NoError(t, s.Close())
	// Not closed at the test's end: a Load that hangs holds the store's lock.
	s, err := Open(dir, withCompactMin(1<<20))
	require.NoError(t, err)
	put := make([]registry.Record, 64)
	for i := range put {
		put[i] = rec(fmt.Sprintf("log-%d", i), 2)
	}
	m.save(put, nil)
	require.NoError(t, s.Save(put, nil))
	require.Equal(t, 64, s.logEntries)

	done := make(chan []registry.Record, 1)
	go func() {
		got, err := s.Load()
		if err != nil {
			got = nil
		}
		done <- got
	}()
	select {
	case got := <-done:
		require.Equal(t, m.records(), got)
		require.NoError(t, s.Close())
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return: the probe for a cid the log does not hold went round a full table")
	}
}
