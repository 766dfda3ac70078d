package logstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/registrytest"
)

// A record a newer version stored with a reason this build does not know
// loads (the store is not refused as corrupt), keeps the text, and is
// saved back with the same text.
func TestFutureReasonSurvivesLoadAndSave(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put := registry.Record{SID: 9, CID: "pos-9", CIP: "10.0.0.9", CPort: "9", ConnectedAt: t0, LastSeen: t1,
		DisconnectedAt: t1, Reason: registrytest.FutureReason("some future reason"), Node: "n1"}
	require.NoError(t, s.Save([]registry.Record{put}, nil))
	require.NoError(t, s.Close())

	again := openT(t, dir)
	recs, err := again.Load()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "some future reason", recs[0].Reason.String())
	assert.Equal(t, put, recs[0])
	require.NoError(t, again.Save(recs, nil))
	recs, err = again.Load()
	require.NoError(t, err)
	assert.Equal(t, "some future reason", recs[0].Reason.String())
}
