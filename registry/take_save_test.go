package registry_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

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
