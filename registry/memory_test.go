package registry_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A burst of registrations grows the list of changed records; once a flush
// has taken them, its memory must go back, not stay as a few dozen bytes
// per client for as long as the process runs.
func TestFlushGivesBackTheChangedSet(t *testing.T) {
	const n = 20000
	at := time.Now() // one goroutine: no Run
	r := registry.New(registry.WithMaxClients(n), registry.WithClock(func() time.Time { return at }))
	conns := make([]*testConn, n)
	for i := range conns {
		conns[i] = newConn()
		_, _, err := r.Register(fmt.Sprintf("client-%05d", i), "192.0.2.1", "4000", conns[i])
		require.NoError(t, err)
	}
	before := heapInUse()
	require.NoError(t, r.Flush())
	// The flush's batch stays for a burst's next flush; a quiet flush
	// 3 s on lets go of it.
	at = at.Add(3 * time.Second)
	require.NoError(t, r.Flush())
	after := heapInUse()
	// The list of 20,000 changed entries held 8 bytes each (a pointer;
	// the set of cids it replaced held 16 and more): well over 128 KiB
	// must be freed.
	assert.Greater(t, int64(before)-int64(after), int64(128<<10),
		"heap before the flush %d B, after %d B", before, after)
	runtime.KeepAlive(r)
	runtime.KeepAlive(conns)
}

// What the registry holds per connected client, its indexes included
// (the entry, the B-tree's item, the cid index's slots; not the cid's
// string, the caller's), counted over many clients of one address once
// the flushes have let go of their buffers: it grows with every client
// held, so a field or an index added carelessly shows here.
func TestHeapPerClient(t *testing.T) {
	const n = 20000
	cids := make([]string, n)
	for i := range cids {
		cids[i] = fmt.Sprintf("client-%05d", i)
	}
	conn := newConn()
	at := time.Now() // one goroutine: no Run
	r := registry.New(registry.WithMaxClients(n), registry.WithClock(func() time.Time { return at }))
	before := heapInUse()
	for _, cid := range cids {
		_, _, err := r.RegisterPort(cid, &testCIP, 4000, conn)
		require.NoError(t, err)
	}
	require.NoError(t, r.Flush())
	at = at.Add(3 * time.Second) // a quiet flush lets go of the burst's buffers
	require.NoError(t, r.Flush())
	perClient := (int64(heapInUse()) - int64(before)) / n
	t.Logf("%d B a client", perClient)
	assert.LessOrEqual(t, perClient, int64(maxHeapPerClient))
	runtime.KeepAlive(r)
}

// maxHeapPerClient bounds TestHeapPerClient: the entry's 80 B, ~10 B of
// B-tree and 15 B of cid index at this count (95 B in all: 93 B before
// the index's tags of session 18; with the 96-byte entry of session 14
// it was 109 B).
const maxHeapPerClient = 100
