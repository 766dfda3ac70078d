package reactor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// A drain cut short (a second signal, --shutdown-timeout out: here a
// context already done) fails Stop only for the clients the engine's stop
// closed before they were told "190 server shutting down", and counts
// those. It counted every connection open at the cut, most of them
// already told and only waiting for their close: a second SIGTERM right
// after the first made cliser exit 1 with "drain ended with 290
// connections still open" after all 300 clients had their 190.
func TestStopCutShortCountsOnlyUntoldClients(t *testing.T) {
	const clients = 40
	srv := startServer(t)
	cs := make([]*testkit.RawClient, 0, clients)
	for i := range clients {
		c := srv.dial(t)
		c.Register(testPassword, fmt.Sprintf("cut-%d", i))
		cs = append(cs, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := srv.Stop(ctx)

	told := 0
	for _, c := range cs {
		require.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		b, rerr := io.ReadAll(c.R)
		if rerr != nil && !errors.Is(rerr, io.EOF) && !strings.Contains(rerr.Error(), "reset") {
			require.NoError(t, rerr)
		}
		if string(b) == "190 "+protocol.ReasonServerShuttingDown.String()+"\n" {
			told++
		}
	}
	if told == clients {
		assert.NoError(t, err, "every client was told and closed")
		return
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("drain ended with %d connections", clients-told))
}
