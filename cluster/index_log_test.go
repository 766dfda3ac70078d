package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestIndexFullLogsThePeerApartFromThisNode: the warning of a node name
// past the index's 32,767 named that node under "node", the key this
// node's logger already carries, so the JSON line held "node" twice and a
// reader kept one of them. The 32,767th name still gets its number; only
// the next is indexed without a holder.
func TestIndexFullLogsThePeerApartFromThisNode(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	n := &Node{
		log:      zap.New(core).With(zap.String("node", "self")),
		names:    make([]string, nodeMask), // one number left
		nodeNums: map[string]uint16{},
	}
	require.Equal(t, uint16(nodeMask), n.nodeNumLocked("last-node"), "the 32,767th name still gets its number")
	require.Empty(t, logs.All())
	require.Equal(t, noNode, n.nodeNumLocked("late-node"), "the index is full")

	entries := logs.All()
	require.Len(t, entries, 1)
	seen := map[string]int{}
	for _, f := range entries[0].Context {
		seen[f.Key]++
	}
	for key, times := range seen {
		assert.Equal(t, 1, times, "key %q", key)
	}
	fields := entries[0].ContextMap()
	assert.Equal(t, "self", fields["node"])
	assert.Equal(t, "late-node", fields["peer"])
}
