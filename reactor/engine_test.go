package reactor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gnet can stop its engine on its own (an accept error such as EMFILE):
// the server then says so through Exited, Alive and Ready, instead of
// looking healthy with a dead listener.
func TestEngineStoppedUnderTheServerIsNotAlive(t *testing.T) {
	srv := startServer(t)
	require.True(t, srv.Alive())
	require.True(t, srv.Ready())
	srv.connect(t, "engine-1")

	// Stop gnet directly, not through Server.Stop: as gnet does itself
	// when its acceptor fails.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.eng.Stop(ctx))
	select {
	case <-srv.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("Exited not closed after the engine stopped")
	}
	assert.False(t, srv.Alive())
	assert.False(t, srv.Ready())
	assert.False(t, srv.Stopping(), "nobody called Stop: the engine died")
	// Its clients did not leave: the server is going, as after a crash.
	r, ok := srv.reg.Get("engine-1")
	require.True(t, ok)
	assert.False(t, r.CStatus)
	assert.Equal(t, "server restarted", r.Reason.String())
}

func TestAliveThroughStop(t *testing.T) {
	srv := startServer(t)
	assert.True(t, srv.Alive())
	select {
	case <-srv.Exited():
		t.Fatal("Exited closed on a running server")
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Stop(ctx))
	assert.True(t, srv.Stopping())
	assert.True(t, srv.Alive(), "a stop that was asked for is no death")
	assert.False(t, srv.Ready())
	<-srv.Exited()
}
