package node_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// A session that only the event log holds (a kill -9 after its connect
// was logged, before the registry's flush) is the start's to end: its
// record comes back "server restarted", counted in the disconnects as
// any other end the start made. The log is given to the registry's Load
// (registry.WithLogged), and the start's ends to the metrics
// (Metrics.Restarted); without either the client was lost, or its end
// uncounted, and only the binary's kill -9 tests said so (mutation audit).
func TestSessionOnlyTheLogHoldsEndsAtTheNextStart(t *testing.T) {
	dir := t.TempDir()
	opts := []node.Option{node.WithDataDir(dir), node.WithEventRetention(100)}
	first := nodetest.Start(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.StopTimeout)
	defer cancel()
	require.NoError(t, first.Shutdown(ctx))

	// The log leads the store: a connect it holds, its record never written.
	l, err := events.Open(filepath.Join(dir, events.FileName))
	require.NoError(t, err)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	require.True(t, l.Append(events.Event{Type: events.TypeConnected, Time: at, CID: "logged-1", SID: 7,
		CIP: "192.0.2.7", CPort: "4000", Session: "s-logged"}))
	require.Eventually(t, func() bool { return l.Newest() > 0 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Close())

	n := nodetest.Start(t, opts...)
	rec, ok := n.Registry().Get("logged-1")
	require.True(t, ok, "the session the log held was lost")
	assert.False(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonServerRestarted, rec.Reason)
	assert.Equal(t, "s-logged", rec.Session)
	got, ok := testkit.Metric("http://"+n.AdminAddr(), `cliser_disconnects_total{reason="server restarted"}`)
	require.True(t, ok, "no server restarted series")
	assert.Equal(t, 1.0, got, "the start's end is not counted")
}
