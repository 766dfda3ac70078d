package logstore

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// Save keeps nothing of its records (registry.CopyingStore): the registry
// overwrites their ports and session names after Save returns. Records
// whose every string points into one buffer are saved, with a compaction
// (withCompactMin(1)) and without; the buffer is overwritten; what Load
// gives back is what was saved.
func TestSaveKeepsNothingOfItsRecords(t *testing.T) {
	for _, compactMin := range []int{1, 1 << 20} {
		dir := t.TempDir()
		s := openT(t, dir, withCompactMin(compactMin))
		buf := []byte("cid-aa10.0.0.940001abcdef0123456789-7node-1")
		at := func(from, to int) string { return unsafe.String(&buf[from], to-from) }
		put := rec("x", 7)
		put.CID, put.CIP, put.CPort, put.Session, put.Node = at(0, 6), at(6, 14), at(14, 19), at(19, 37), at(37, 43)
		want := registry.Record{SID: 7, CID: "cid-aa", CIP: "10.0.0.9", CPort: "40001", CStatus: true,
			ConnectedAt: t0, LastSeen: t1, Session: "abcdef0123456789-7", Node: "node-1"}
		require.Equal(t, want, put)
		require.NoError(t, s.Save([]registry.Record{put}, nil))
		for i := range buf {
			buf[i] = 'z'
		}
		require.NoError(t, s.Close())
		got, err := openT(t, dir).Load()
		require.NoError(t, err)
		require.Equal(t, []registry.Record{want}, got, "compactMin %d", compactMin)
	}
}
