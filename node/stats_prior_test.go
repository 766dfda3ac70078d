package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
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

// The last run's ends leave the stats' window each at its own time: an end
// logged near the window's start is not counted "in the last 5 minutes"
// for as long as the newest end of that run is. Before, they all went in
// one group as of the newest, and an end 4m56s old at the start was
// still counted 5 minutes later.
func TestPriorDisconnectsLeaveTheWindowEachAtItsTime(t *testing.T) {
	dir := t.TempDir()
	var offset atomic.Int64 // run 1's clock, behind the real one
	clock := func() time.Time { return time.Now().Add(-time.Duration(offset.Load())).UTC() }
	n := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000),
		node.WithRegistryOptions(registry.WithClock(clock)))
	end := func(cid string, ago time.Duration) {
		offset.Store(int64(ago))
		c := testkit.Dial(t, n.Addr())
		c.Register(nodetest.Password, cid)
		_ = c.Conn.Close()
		require.Eventually(t, func() bool {
			rec, ok := n.Registry().Get(cid)
			return ok && !rec.CStatus
		}, 5*time.Second, 5*time.Millisecond)
	}
	end("old-end", admin.StatsWindow-4*time.Second)
	end("new-end", time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))

	again := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000))
	// old-end's 5 minutes are over some 4 s after it was logged; new-end's
	// last until long after this test.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := http.Get("http://" + again.AdminAddr() + "/v1/stats")
		if !assert.NoError(c, err) {
			return
		}
		defer resp.Body.Close()
		var st struct {
			Disconnects map[string]int `json:"disconnects"`
		}
		if assert.NoError(c, json.NewDecoder(resp.Body).Decode(&st)) {
			assert.Equal(c, map[string]int{"closed by client": 1}, st.Disconnects,
				"an end older than the window is still counted")
		}
	}, 20*time.Second, 50*time.Millisecond)
}

// A start with the clock behind the log's (an NTP step back, a wrong
// clock at boot) counts the last run's ends of the window before its
// newest event, not every end the log holds: they were all "after" the
// start's window began, and the overview counted a whole run's ends as
// the last minutes', for as long as the clock stayed behind them (clock
// audit).
func TestPriorDisconnectsWithTheClockSetBackCountOnlyTheLastRunsWindow(t *testing.T) {
	dir := t.TempDir()
	var offset atomic.Int64 // how far run 1's clock is ahead of the real one
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())).UTC() }
	n := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000),
		node.WithRegistryOptions(registry.WithClock(clock)))
	end := func(cid string, ahead time.Duration) {
		offset.Store(int64(ahead))
		c := testkit.Dial(t, n.Addr())
		c.Register(nodetest.Password, cid)
		_ = c.Conn.Close()
		require.Eventually(t, func() bool {
			rec, ok := n.Registry().Get(cid)
			return ok && !rec.CStatus
		}, 5*time.Second, 5*time.Millisecond)
	}
	const year = 365 * 24 * time.Hour
	end("long-before-the-last", year-time.Hour) // an hour before the run's last end
	end("the-last", year)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))

	again := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(1000))
	resp, err := http.Get("http://" + again.AdminAddr() + "/v1/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		Disconnects map[string]int `json:"disconnects"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	assert.Equal(t, map[string]int{"closed by client": 1}, st.Disconnects,
		"an end an hour before the last run's last is not of its final minutes")
}
