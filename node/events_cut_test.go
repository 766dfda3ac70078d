package node_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/boltkeep"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
)

// events.db cut under the running server, as identity.db
// (TestIdentityFileCutUnderTheServerIsRefusedNotACrash): the event log's
// next transaction read a page past the file's end, a SIGBUS that killed
// the process and every session (identity audit). Now the log writes and
// reads no more, the clients are served, and /readyz says why.
func TestEventsFileCutUnderTheServerIsRefusedNotACrash(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000))
	base := "http://" + n.AdminAddr()
	first := testkit.Dial(t, n.Addr())
	first.Register(nodetest.Password, "cut-events-0")
	require.Eventually(t, func() bool { // in the file: the index by client ID is made at the commit
		code, body := testkit.HTTPGet(t, base+"/v1/clients/cut-events-0/history")
		return code == http.StatusOK && strings.Contains(body, `"session"`)
	}, 10*time.Second, 10*time.Millisecond, "the first event written")

	require.NoError(t, os.Truncate(filepath.Join(dir, events.FileName), 0))
	for i := 1; i <= 3; i++ { // events to write, and reads (the newest from memory, the oldest from the file)
		testkit.Dial(t, n.Addr()).Register(nodetest.Password, fmt.Sprintf("cut-events-%d", i))
		testkit.HTTPGet(t, base+"/v1/events?after=0")
		testkit.HTTPGet(t, base+"/v1/events?type=client.connected")
		// A read from the file (a client's history): 503, as for the
		// identity file; it was a 500.
		code, body := testkit.HTTPGet(t, base+"/v1/clients/cut-events-0/history")
		assert.Equal(t, http.StatusServiceUnavailable, code, body)
		assert.Contains(t, body, "cut while cliser ran")
	}
	var ready string
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ready = string(b)
		return strings.Contains(ready, "cut while cliser ran")
	}, 10*time.Second, 10*time.Millisecond, "/readyz says the log's file was cut: %s", ready)
	first.Send("100 x\n") // still served: a keep-alive answer out of turn is refused, not a dead socket
	rec, ok := n.Registry().Get("cut-events-3")
	require.True(t, ok)
	assert.True(t, rec.CStatus, "clients register while the log is cut")

	// The stop fails with it (Shutdown returns the event log's error):
	// an exit 0 would pass for a stop that kept every event.
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.StopTimeout)
	defer cancel()
	err := n.Shutdown(ctx)
	require.ErrorIs(t, err, boltkeep.ErrCut)
	assert.Contains(t, err.Error(), events.FileName)
}
