package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// TestDisconnectEventAllocatesItsTimeOnly: a disconnect's event points at
// its reason's text rather than a copy, so building it allocates the
// connected_at time and nothing else (issue 17: the log's garbage per
// handshake); the reason reads as the registry's, of every reason.
func TestDisconnectEventAllocatesItsTimeOnly(t *testing.T) {
	at := time.Now().UTC()
	c := registry.Change{Kind: registry.ChangeDisconnected, At: at, Record: registry.Record{
		CID: "cid-1", CIP: "127.0.0.1", CPort: "40000", ConnectedAt: at.Add(-time.Minute), Reason: protocol.ReasonClosedByClient}}
	var ev events.Event
	allocs := testing.AllocsPerRun(1000, func() { ev = eventOf(c, "n1") })
	require.LessOrEqual(t, allocs, 1.0)
	require.Equal(t, events.TypeDisconnected, ev.Type)
	require.Equal(t, c.Record.ConnectedAt, *ev.ConnectedAt)
	for r := range 256 {
		c.Record.Reason = protocol.Reason(r)
		require.Equal(t, c.Record.Reason.String(), *eventOf(c, "").Reason, "reason %d", r)
	}
}
