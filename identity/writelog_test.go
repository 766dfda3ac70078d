package identity_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/identity"
)

// A store that fails writes is logged once when the failures begin (a
// warning), at debug while they go on, and once when a write lands again
// (info), so that a dead store does not flood the log and the operator
// sees it end. Mutants Q24 (warning and debug swapped) and Q25 (the line
// of the end dropped) passed every test.
func TestServiceStoreWriteFailuresLogTheirStartAndEnd(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	st := &downStore{Store: openBolt(t)}
	s := startExpiry(t, st, &recorder{}, identity.WithLogger(zap.New(core)))
	ban := func(ip string) error {
		_, err := s.AddBan(t.Context(), identity.KindIP, ip, "", 0)
		return err
	}
	st.down.Store(true)
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		require.Error(t, ban(ip))
	}
	st.down.Store(false)
	require.NoError(t, ban("192.0.2.4"))
	st.down.Store(true)
	require.Error(t, ban("192.0.2.5"))

	var levels []zapcore.Level
	for _, e := range logs.FilterMessage("identity: store write failed").All() {
		levels = append(levels, e.Level)
	}
	assert.Equal(t, []zapcore.Level{zapcore.WarnLevel, zapcore.DebugLevel, zapcore.DebugLevel, zapcore.WarnLevel}, levels)
	back := logs.FilterMessage("identity: store writes succeed again").All()
	require.Len(t, back, 1)
	assert.Equal(t, zapcore.InfoLevel, back[0].Level)
}

// A write the store never took, still waiting for its retry when the
// service stops, is dropped with a warning: what it held (a flapping ban)
// lived in memory only. Mutant Q27 (the warning dropped) passed every
// test.
func TestServiceStopWarnsOfWritesNeverTaken(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	bs := openBolt(t)
	s := startExpiry(t, bs, &recorder{}, identity.WithLogger(zap.New(core)), identity.WithFlapping(2, time.Minute, time.Minute))
	require.NoError(t, bs.Close()) // every write fails from now on
	flap(s, "dev-1")
	require.Eventually(t, func() bool { return s.WriteErr() != nil }, 5*time.Second, time.Millisecond)
	require.NoError(t, s.Close())
	dropped := logs.FilterMessage("identity: writes the store never took are dropped at the stop: what they held lived in memory only").All()
	require.Len(t, dropped, 1)
	assert.Equal(t, zapcore.WarnLevel, dropped[0].Level)
	assert.EqualValues(t, 1, dropped[0].ContextMap()["writes"])
}

// A write queued once the service has stopped (a flapping ban from a
// registration admitted during the shutdown) is not made: it is counted
// as a failed write and logged, not lost without a trace. Mutant Q4 (the
// count dropped) passed every test.
func TestServiceWriteAfterTheStopIsCounted(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	s := startExpiry(t, openBolt(t), &recorder{}, identity.WithLogger(zap.New(core)), identity.WithFlapping(2, time.Minute, time.Minute))
	require.NoError(t, s.Close())
	flap(s, "dev-1")
	assert.Equal(t, uint64(1), s.StoreErrors())
	dropped := logs.FilterMessage("identity: store write dropped: the service is stopped").All()
	require.Len(t, dropped, 1)
	assert.Equal(t, zapcore.WarnLevel, dropped[0].Level)
}
