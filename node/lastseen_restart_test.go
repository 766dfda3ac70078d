package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
)

// A graceful restart gives back a disconnected record as it was: its
// last_seen stays its last sign of life (the registration here), not its
// disconnected_at. The start's weighing of the store against the event
// log moved last_seen up to the disconnect of every record whose end was
// among the log's newest events (a soak audit: 2,828 of 3,169 records
// changed across one SIGTERM and start).
func TestLastSeenOfAnEndedRecordSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	opts := []node.Option{node.WithDataDir(dir), node.WithEventRetention(1000)}
	n := nodetest.Start(t, opts...)
	c := testkit.Dial(t, n.Addr())
	c.Register(nodetest.Password, "seen-1")
	url := "http://" + n.AdminAddr() + "/v1/clients/seen-1"
	type rec struct {
		CStatus        bool       `json:"cstatus"`
		LastSeen       time.Time  `json:"last_seen"`
		DisconnectedAt *time.Time `json:"disconnected_at"`
	}
	get := func(url string) rec {
		code, body := testkit.HTTPGet(t, url)
		require.Equal(t, http.StatusOK, code, body)
		var r rec
		require.NoError(t, json.Unmarshal([]byte(body), &r))
		return r
	}
	registered := get(url).LastSeen
	// Times are to the second: end the session in a later one.
	require.Eventually(t, func() bool { return time.Now().UTC().Truncate(time.Second).After(registered) },
		3*time.Second, 10*time.Millisecond)
	_ = c.Conn.Close()
	var before rec
	require.Eventually(t, func() bool { before = get(url); return !before.CStatus }, 10*time.Second, 10*time.Millisecond)
	require.NotNil(t, before.DisconnectedAt)
	require.True(t, before.DisconnectedAt.After(before.LastSeen), "the test needs an end after the last sign of life")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))

	again := nodetest.Start(t, opts...)
	after := get("http://" + again.AdminAddr() + "/v1/clients/seen-1")
	assert.Equal(t, before.LastSeen, after.LastSeen, "last_seen changed across a restart")
	assert.Equal(t, *before.DisconnectedAt, *after.DisconnectedAt)
}
