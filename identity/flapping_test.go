package identity

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A burst of registrations leaves a flapping count per client for a
// window: it must be small while it lasts, and its memory must go back
// once the window has passed, not stay for as long as the process runs.
func TestFlapCountsAreSmallAndGoBack(t *testing.T) {
	const n = 20000
	s := New(WithFlapping(DefaultFlapLimit, time.Minute, time.Minute))
	cids := make([]string, n)
	for i := range cids {
		cids[i] = fmt.Sprintf("client-%05d", i)
	}
	t0 := time.Now()
	before := heapAlloc()
	for _, cid := range cids {
		s.countRegistration(cid, t0)
	}
	during := heapAlloc()
	perClient := (int64(during) - int64(before)) / n
	// A map slot for the key and a 16-byte count (63 B with the map's
	// spare room); a pointer to a struct with a time.Time was 74 B.
	assert.Less(t, perClient, int64(68), "flapping count per client")

	s.pruneFlaps(t0.Add(2 * time.Minute))
	after := heapAlloc()
	assert.Empty(t, s.flaps)
	assert.Less(t, int64(after)-int64(before), int64(n*8), "the burst's map stayed: %d B before, %d after", before, after)
	runtime.KeepAlive(cids)
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
