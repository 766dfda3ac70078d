package events

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventIDsCutFromBatches: every ID is the prefix and the next counter
// in base 36, unique, and an ID costs under a tenth of an allocation.
func TestEventIDsCutFromBatches(t *testing.T) {
	c := newIDCutter("evt-0123456789abcdef-")
	seen := make(map[string]bool)
	for i := 1; i <= 5*idBatch+3; i++ {
		id := c.id()
		require.Equal(t, "evt-0123456789abcdef-"+strconv.FormatUint(uint64(i), 36), id)
		require.False(t, seen[id], "%s twice", id)
		seen[id] = true
	}
	allocs := testing.AllocsPerRun(10*idBatch, func() { _ = c.id() })
	require.Less(t, allocs, 0.1)
}
