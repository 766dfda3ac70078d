package registry

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// A flush hands its emptied batch to the next one: the steady flushes (a
// checkpoint's share, a trickle of registrations) make no batch garbage,
// the kept batch holds no record's strings alive, and a burst's batch
// larger than keptBatch goes back to the GC.
func TestFlushReusesItsBatch(t *testing.T) {
	r := New()
	register := func(from, to int) {
		for i := from; i < to; i++ {
			_, _, err := r.RegisterPort(fmt.Sprintf("c%05d", i), "192.0.2.1", 4000, nil)
			require.NoError(t, err)
		}
	}
	register(0, 100)
	require.NoError(t, r.Flush())
	require.GreaterOrEqual(t, cap(r.batch), 100)
	first := unsafe.SliceData(r.batch)
	for _, rec := range r.batch[:cap(r.batch)] {
		require.Equal(t, Record{}, rec, "the kept batch must hold nothing alive")
	}

	for i := 0; i < 50; i++ {
		r.Disconnect(fmt.Sprintf("c%05d", i), nil, protocol.ReasonClosedByClient)
	}
	require.NoError(t, r.Flush())
	assert.Same(t, first, unsafe.SliceData(r.batch), "a flush of fewer records made a new batch")

	register(100, 100+keptBatch+1)
	require.NoError(t, r.Flush())
	assert.LessOrEqual(t, cap(r.batch), keptBatch, "a burst's batch larger than keptBatch was kept")
}
