package registry

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// A burst's second flush reuses what its first grew: the batch, its text
// and the list of changed entries. Made anew per flush they were ~115 B a
// record (the batch's 176 B a record over a take of keptBatch, the text's
// reserve, the list's doubling series); what stays is the take's one
// string of text (~26 B a record).
func TestBurstsReuseTheKeptBuffers(t *testing.T) {
	st := &countingStore{}
	r, cids := flushedBurst(t, st)
	perRecord := secondBurstPerRecord(t, r, cids)
	assert.Less(t, perRecord, 32.0, "the second burst made its batch, text or list anew")
	require.Equal(t, 2*len(cids), st.records)
}

// burstSize is the tests' burst: three takes a flush.
const burstSize = 5 * keptBatch / 2

// flushedBurst is a registry over st after a burst of burstSize
// registrations and their flush.
func flushedBurst(t *testing.T, st Store) (*Registry, []string) {
	t.Helper()
	r := New(WithStore(st), WithMaxClients(burstSize))
	cids := burstRegister(t, r, burstSize)
	require.NoError(t, r.Flush())
	return r, cids
}

// secondBurstPerRecord disconnects every cid and flushes, and returns the
// bytes that allocated a record.
func secondBurstPerRecord(t *testing.T, r *Registry, cids []string) float64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, cid := range cids {
		if !r.Disconnect(cid, nil, protocol.ReasonClosedByClient) {
			t.Fatalf("%s: not disconnected", cid)
		}
	}
	require.NoError(t, r.Flush())
	runtime.ReadMemStats(&after)
	perRecord := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(cids))
	t.Logf("%.1f B allocated a record by the second burst's changes and flush", perRecord)
	return perRecord
}

// The buffers a burst grew go back burstLinger after the last flush that
// needed them; a steady flush keeps a batch of its own size.
func TestBurstBuffersGoBackWhenQuiet(t *testing.T) {
	const n = 5 * keptBatch / 2
	clock := newStepClock()
	r := New(WithStore(&countingStore{}), WithMaxClients(n), WithClock(clock.now))
	burstRegister(t, r, n)
	require.NoError(t, r.Flush())
	require.Equal(t, keptBatch, cap(r.batch), "the burst's batch")

	quietFlush := func(after time.Duration, cid string) {
		t.Helper()
		clock.step(after)
		require.True(t, r.Disconnect(cid, nil, protocol.ReasonClosedByClient))
		require.NoError(t, r.Flush())
	}
	quietFlush(burstLinger/2, "b00000")
	assert.Equal(t, keptBatch, cap(r.batch), "let go of within the burst's linger")
	assert.Greater(t, cap(r.dirty), dirtyKeep, "the burst's list let go of within its linger")
	quietFlush(burstLinger/2, "b00001")
	assert.Zero(t, cap(r.batch), "the burst's batch kept after its linger")
	assert.LessOrEqual(t, cap(r.dirty), dirtyKeep, "the burst's list kept after its linger")

	for i := range 100 {
		require.True(t, r.Disconnect(fmt.Sprintf("b%05d", 100+i), nil, protocol.ReasonClosedByClient))
	}
	require.NoError(t, r.Flush())
	steady := unsafe.SliceData(r.batch)
	for i := range 5 {
		clock.step(burstLinger)
		for j := range 100 {
			require.True(t, r.Disconnect(fmt.Sprintf("b%05d", 200+100*i+j), nil, protocol.ReasonClosedByClient))
		}
		require.NoError(t, r.Flush())
		assert.Same(t, steady, unsafe.SliceData(r.batch), "steady flush %d made a new batch", i)
	}
}

// burstRegister registers n clients, b00000 on, and returns their cids.
func burstRegister(t *testing.T, r *Registry, n int) []string {
	t.Helper()
	cids := make([]string, n)
	for i := range cids {
		cids[i] = fmt.Sprintf("b%05d", i)
		_, _, err := r.RegisterPort(cids[i], &internalCIP, 4000, nil)
		require.NoError(t, err)
	}
	return cids
}

// stepClock is a clock a test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStepClock() *stepClock { return &stepClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} }

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
