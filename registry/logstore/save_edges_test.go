package logstore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// A batch whose last record fills its frame past frameTarget leaves no
// empty frame behind it: one would be eight zero bytes, which a scan takes
// for the log's end (or, with a later Save's frames after it, for damage),
// so the next Save's records, or the store, would be lost at the restart.
// A mutation audit found the empty frame written with every test passing;
// the batch is sized so that its last record is the one that seals.
func TestSaveWhoseLastRecordFillsItsFrameReadsBackAfterTheNextSave(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	edge := func(i int) registry.Record { // every record the same size
		r := rec(fmt.Sprintf("edge-%05d", i), 1000)
		r.Node = strings.Repeat("n", 200)
		return r
	}
	value, err := appendRecord(nil, edge(0))
	require.NoError(t, err)
	size := len(appendPut(nil, []byte(edge(0).CID), value))
	k := frameTarget/size + 1 // the k-th seals the frame
	require.LessOrEqual(t, k, pieceRecords, "one piece")
	put := make([]registry.Record, k)
	for i := range put {
		put[i] = edge(i)
	}
	require.NoError(t, s.Save(put, nil))
	require.NoError(t, s.Save([]registry.Record{edge(k)}, nil))
	got, err := s.Load()
	require.NoError(t, err)
	assert.Len(t, got, k+1)

	require.NoError(t, s.Close())
	s = openT(t, dir)
	got, err = s.Load()
	require.NoError(t, err)
	assert.Len(t, got, k+1, "every saved record after a restart")
}
