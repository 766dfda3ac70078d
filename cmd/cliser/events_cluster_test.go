package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// Three serve processes on one real nats-server: the cluster's log has one
// order, every node reads the same events with the same seqs, and a lost
// node's clients get their client.disconnected, reason "node lost", once
// for the cluster, with the lost node's name and the lost session.
func TestEventsBinaryCluster(t *testing.T) {
	ns := testkit.NATS(t)

	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "CLISER_CLUSTER=" + ns.ClientURL()}
	names := []string{"alpha", "beta", "gamma"}
	procs := map[string]*testkit.Served{}
	apis := map[string]*admin.Client{}
	for _, name := range names {
		procs[name] = testkit.Serve(t, env, serveArgs(t.TempDir(), "--node-id", name, "--cluster-heartbeat", "3s")...)
		apis[name] = apiOf(t, procs[name])
	}

	// Clients on every node, at once: the nodes publish concurrently.
	for i := range 3 {
		for _, name := range names {
			c := opsConnect(t, procs[name].Addr, opsPassword, fmt.Sprintf("%s-%d", name, i))
			if i < 2 {
				c.Conn.Close()
			}
		}
	}
	const total = 3*3 + 2*3 // a connect each, a disconnect for two of each node's three
	var logs [][]events.Event
	for _, name := range names {
		logs = append(logs, waitEvents(t, apis[name], total))
	}
	for i, evs := range logs {
		require.Len(t, evs, total, "%s: %v", names[i], reasonsOf(evs))
		for j, ev := range evs {
			assert.Equal(t, uint64(j+1), ev.Seq, "one gapless order")
			assert.Equal(t, logs[0][j].ID, ev.ID, "%s reads the same event at seq %d", names[i], ev.Seq)
		}
	}
	for _, ev := range logs[0] {
		require.NotEmpty(t, ev.Node)
		assert.Contains(t, ev.CID, ev.Node, "each event names the node that held the session")
	}
	// Per client, connect before disconnect.
	seen := map[string]string{}
	for _, ev := range logs[0] {
		if ev.Type == events.TypeDisconnected {
			assert.Equal(t, events.TypeConnected, seen[ev.CID], ev.CID)
		}
		seen[ev.CID] = ev.Type
	}

	// gamma dies with its client gamma-2 connected.
	require.Eventually(t, func() bool {
		rec, err := apis["alpha"].Get(context.Background(), "gamma-2")
		return err == nil && rec.CStatus
	}, waitFor, 20*time.Millisecond, "alpha sees gamma's client connected")
	var session string
	for _, ev := range logs[0] {
		if ev.CID == "gamma-2" {
			session = ev.Session
		}
	}
	require.NoError(t, procs["gamma"].Cmd.Process.Kill())
	procs["gamma"].WaitExit(t)

	lost := func() []events.Event {
		return allEvents(t, apis["alpha"], admin.EventsFilter{CID: "gamma-2", Types: []string{events.TypeDisconnected}})
	}
	require.Eventually(t, func() bool { return len(lost()) > 0 }, 20*time.Second, 50*time.Millisecond,
		"a disconnect for the lost node's client")
	ev := lost()[0]
	assert.Equal(t, "node lost", reasonOf(ev))
	assert.Equal(t, "gamma", ev.Node, "with the lost node's name")
	assert.Equal(t, session, ev.Session, "and the lost session")
	require.NotNil(t, ev.ConnectedAt)
	// Both survivors check every half heartbeat; give them several rounds
	// to say it again, which they must not.
	newest := waitEvents(t, apis["alpha"], total+1)
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		_, err := apis["beta"].Events(context.Background(), &newest[len(newest)-1].Seq, 0, admin.EventsFilter{}, 500*time.Millisecond)
		require.NoError(t, err)
	}
	assert.Len(t, lost(), 1, "once for the cluster")
	fromBeta := allEvents(t, apis["beta"], admin.EventsFilter{CID: "gamma-2"})
	assert.Len(t, fromBeta, 2, "beta reads the same")

	h, err := apis["beta"].History(context.Background(), "gamma-2", 0)
	require.NoError(t, err)
	require.Len(t, h.Sessions, 1)
	assert.Equal(t, "node lost", h.Sessions[0].Reason)
	assert.Equal(t, "gamma", h.Sessions[0].Node)
}

func reasonsOf(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = fmt.Sprintf("%d %s %s by-%s %s", ev.Seq, ev.Type, ev.CID, ev.Node, reasonOf(ev))
	}
	return out
}
