package floor

import (
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

// BenchmarkRTTObserve is the floor's cost of counting one echo: a walk up
// the bounds from the first, on the loop.
func BenchmarkRTTObserve(b *testing.B) {
	var h rttCounts
	ds := testkit.KeepAliveRTTs(1024)
	for i := 0; b.Loop(); i++ {
		h.observe(int64(ds[i&1023]))
	}
}
