package reactor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// ShutdownAll (and CloseWhere, built the same way) racing Stop must return: gnet drops the tasks still queued
// on a loop once the engine stops, so a ShutdownAll that waited for every
// task to run could wait forever (a POST /v1/shutdown just before SIGTERM,
// or a peer's routed shutdown-all in a cluster).
func TestShutdownAllNeverHangsWhileStopping(t *testing.T) {
	const rounds = 20
	for round := range rounds {
		srv, err := New(registry.New(), WithAddr("127.0.0.1:0"),
			WithPasswords([][]byte{[]byte(testPassword)}), WithLoops(2), WithLogger(zap.NewNop()))
		require.NoError(t, err)
		require.NoError(t, srv.Start())
		c := testkit.Dial(t, srv.Addr())
		c.Handshake(testPassword, "race-"+itoa(round))

		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Stop(ctx)
		}()
		// Broadcast again and again until Stop is over, so some call
		// lands in the window where the loops stop under it.
		for done := false; !done; {
			select {
			case <-stopped:
				done = true
			default:
			}
			returned := make(chan struct{})
			go func() {
				srv.ShutdownAll("race")
				srv.CloseWhere(func(string) bool { return false }, protocol.ReasonBanned)
				close(returned)
			}()
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: ShutdownAll or CloseWhere did not return while the server stopped", round)
			}
		}
		_ = c.Conn.Close()
	}
}
