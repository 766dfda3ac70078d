package reactor

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A drain cut short (--shutdown-timeout out, a second signal: here a
// context already done) after every client was told "190 server shutting
// down" does not fail the stop, and says once that it was cut and how
// many connections were still open. It said nothing: a 15,000-client
// stop whose 100 ms --shutdown-timeout ran out with all 15,000 still
// open logged only "stopped; registry written" and exited 0.
func TestStopCutShortAfterEveryoneWasToldSaysSo(t *testing.T) {
	const clients = 100
	core, logs := observer.New(zapcore.WarnLevel)
	srv := startServer(t, WithLogger(zap.New(core)))
	for i := range clients {
		srv.dial(t).Register(testPassword, fmt.Sprintf("cutlog-%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := srv.Stop(ctx)
	if err != nil { // the engine closed some untold: the stop fails, saying so
		require.Contains(t, err.Error(), "not yet told")
		return
	}
	cut := logs.FilterMessageSnippet("drain cut short").All()
	require.Len(t, cut, 1, "a drain cut with connections open is logged once")
	assert.Contains(t, cut[0].ContextMap()["drain"], "connections still open")
}
