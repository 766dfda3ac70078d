package reactor

import (
	"context"
	"fmt"
	"testing"

	"github.com/panjf2000/gnet/v2"
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
	// The loops are held until the drain's wait has ended, so that its
	// close of the clients cannot finish first: under load it did, the
	// drain was whole, and nothing was to be said (a CI flake, 1 run in 60).
	hold := make(chan struct{})
	for _, lp := range srv.loopList() {
		require.NoError(t, lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			<-hold
			return nil
		})))
	}
	go func() {
		<-srv.ctx.Done() // Stop's wait for the drain is over
		close(hold)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, srv.Stop(ctx), "every client was told before the engine stopped")
	cut := logs.FilterMessageSnippet("drain cut short").All()
	require.Len(t, cut, 1, "a drain cut with connections open is logged once")
	assert.Contains(t, cut[0].ContextMap()["drain"], "connections still open")
}
