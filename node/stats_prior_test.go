package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// A graceful restart's own ends are in the next run's "disconnects in the
// last minutes": they were the previous process's counters, and the
// overview said none while the log held them. They add to the window,
// not to the chart of connected clients, and a client's end of this run
// counts beside them.
func TestRestartKeepsTheLastRunsDisconnectsInTheStats(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000))
	clients := make([]*testkit.RawClient, 3)
	for i := range clients {
		clients[i] = testkit.Dial(t, n.Addr())
		clients[i].Register(nodetest.Password, fmt.Sprintf("prior-%d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	for _, c := range clients {
		c.ExpectClosed("190 " + protocol.ReasonServerShuttingDown.String())
	}

	restart := time.Now().Unix()
	again := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000))
	c := testkit.Dial(t, again.Addr())
	c.Register(nodetest.Password, "prior-0")
	_ = c.Conn.Close()
	var st struct {
		Disconnects map[string]int `json:"disconnects"`
		Series      []struct {
			T int64 `json:"t"`
		} `json:"series"`
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := http.Get("http://" + again.AdminAddr() + "/v1/stats")
		if !assert.NoError(c, err) {
			return
		}
		defer resp.Body.Close()
		st.Disconnects = nil
		if assert.NoError(c, json.NewDecoder(resp.Body).Decode(&st)) {
			assert.Equal(c, 1, st.Disconnects["closed by client"], "disconnects: %v", st.Disconnects)
		}
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, map[string]int{"server shutting down": 3, "closed by client": 1}, st.Disconnects)
	require.NotEmpty(t, st.Series)
	for _, p := range st.Series {
		assert.GreaterOrEqual(t, p.T, restart, "the chart begins with this run")
	}
}
