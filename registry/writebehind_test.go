package registry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
)

// A store that cannot be written is seen: one warning when flushing
// starts failing (not one per interval), the failures counted, the records
// waiting counted, StoreErr set; one line when it works again, and then
// everything is on disk.
func TestFailingStoreIsLoggedOnceCountedAndRecovers(t *testing.T) {
	st := newReopenable(t)
	core, logs := observer.New(zapcore.InfoLevel)
	r := registry.New(registry.WithStore(st), registry.WithFlushInterval(5*time.Millisecond),
		registry.WithLogger(zap.New(core)))
	startRunSynced(t, r, st)
	require.NoError(t, r.StoreErr())

	closedAt := time.Now()
	require.NoError(t, st.Close()) // the store now fails every write: ErrClosed
	for i := range 20 {
		mustRegister(t, r, "wb-"+itoaPad(i))
	}
	require.Eventually(t, func() bool { return r.StoreHealth().Failures >= 10 }, waitFor, tick,
		"Run retries the batch every interval")
	h := r.StoreHealth()
	require.ErrorIs(t, h.Err, logstore.ErrClosed)
	assert.GreaterOrEqual(t, h.Pending, 20, "the records wait in memory")
	err := r.StoreErr()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "registry store cannot write since "+h.Since.UTC().Format(time.RFC3339))
	assert.Contains(t, err.Error(), "records waiting")
	assert.False(t, h.Since.Before(closedAt) || h.Since.After(time.Now()), "failing since %s: from the first failed flush", h.Since)
	warned := logs.FilterMessageSnippet("writing to the store fails").All()
	require.Len(t, warned, 1, "one warning for the whole outage, not one per flush")
	assert.Equal(t, st.WhatToFix(), warned[0].ContextMap()["fix"], "the store's advice")

	st.reopen(t)
	require.Eventually(t, func() bool { return r.StoreErr() == nil }, waitFor, tick, "the next flush works")
	recovered := logs.FilterMessageSnippet("works again").All()
	require.Len(t, recovered, 1)
	assert.GreaterOrEqual(t, recovered[0].ContextMap()["failed_flushes"], uint64(10))
	assert.Equal(t, 0, r.StoreHealth().Pending)
	disk := stored(t, st)
	for i := range 20 {
		assert.Contains(t, disk, "wb-"+itoaPad(i))
	}
	assert.Len(t, logs.FilterMessageSnippet("writing to the store fails").All(), 1, "still one warning")
}

func itoaPad(i int) string { return string(rune('a'+i/10)) + string(rune('0'+i%10)) }
