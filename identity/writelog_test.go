package identity_test

import (
	"testing"

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
