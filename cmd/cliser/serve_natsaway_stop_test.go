package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A node stopped while NATS is away, with nothing to lose (no client, no
// queued event), stops cleanly: exit 0, within seconds. It exited 1 after
// 7 s, "cluster: remove heartbeat: context deadline exceeded" and "nats:
// connection reconnecting", so its exit status could not tell an operator
// whether events or records were lost (a stop that loses events exits 1,
// TestStreamCloseReportsEventsLostToNATSAway).
func TestBinaryStopWhileNATSIsAwayLosingNothingExitsZero(t *testing.T) {
	ns := testkit.NATS(t)
	p := serveNode(t, []string{"CLISER_PASSWORD=cl-away", "CLISER_ADMIN_TOKEN="}, "away-1", "--cluster", ns.ClientURL())
	base := p.AdminURL(t)
	stopNATS(t, ns, base)

	began := time.Now()
	code := p.Stop(t)
	took := time.Since(began)
	logs := p.LogText()
	assert.Equal(t, 0, code, "nothing was lost:\n%s", logs[max(0, len(logs)-1500):])
	assert.Less(t, took, 4*time.Second)
	assert.NotContains(t, logs, "stopped with errors")
	assert.Contains(t, logs, "stopped; registry written")
}

// A node stopped while NATS is away keeps the events it could not publish
// in its spill file in the data dir (before, they were lost: exit 1 and
// "are lost"), and its next start publishes them. Each session ends once
// in the log: the start takes its records' ends from the file, where it
// marked them "server restarted" and published a second end of each (found
// by the cluster audit).
func TestBinaryStopWhileNATSIsAwayKeepsEventsForTheNextStart(t *testing.T) {
	t.Parallel()
	natsDir, dataDir := t.TempDir(), t.TempDir()
	ns := testkit.NATSAt(t, natsDir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	env := []string{"CLISER_PASSWORD=cl-spill", "CLISER_ADMIN_TOKEN="}
	args := append(append([]string{}, clusterFlags...), "--node-id", "spill-1", "--data-dir", dataDir, "--cluster", ns.ClientURL())
	p := testkit.Serve(t, env, args...)
	base := p.AdminURL(t)
	c := opsConnect(t, p.Addr, "cl-spill", "spilled")
	opsConnect(t, p.Addr, "cl-spill", "held") // connected at the stop
	waitEventsOf(t, base, "type=client.connected", 2)
	waitRecords(t, base, 2)

	stopNATS(t, ns, base)
	require.NoError(t, c.Conn.Close()) // its disconnect: an event NATS cannot take
	waitDisconnectSeen(t, p)
	waitEventsQueued(t, base, 1)
	total := func(typ string) float64 {
		n, ok := testkit.Metric(base, `cliser_events_total{type="`+typ+`"}`)
		require.True(t, ok, typ)
		return n
	}
	assert.Zero(t, total("client.disconnected"), "not stored: in cliser_events_queued alone (it was in both)")
	assert.EqualValues(t, 2, total("client.connected"))
	// Exit 1 still: the records of the disconnects were not written (a
	// record has no spill; the next start writes them as the file says).
	assert.Equal(t, 1, p.Stop(t))
	p.WaitLog(t, waitFor, "kept in the spill file", `"events":2`)
	assert.NotContains(t, p.LogText(), "are lost")
	assert.Contains(t, p.LogText(), `"msg":"stopped with errors","error":"registry: 2 records not written to the store at close`)
	spill := filepath.Join(dataDir, events.SpillFile("spill-1"))
	_, err := os.Stat(spill)
	require.NoError(t, err)

	testkit.NATSAt(t, natsDir, port)
	p2 := testkit.Serve(t, env, args...)
	base = p2.AdminURL(t)
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, waitFor, tick,
		"the spill file published and removed:\n%s", p2.LogText())
	for cid, reason := range map[string]string{"spilled": "closed by client", "held": "server shutting down"} {
		evs := waitEventsOf(t, base, "type=client.disconnected&cid="+cid, 1)
		assert.Len(t, evs, 1, "%s: one end of its session, not a second `server restarted`", cid)
		assert.Equal(t, reason, *evs[0].Reason, cid)
		_, body := testkit.HTTPGet(t, base+"/v1/clients/"+cid)
		assert.Contains(t, body, `"reason":"`+reason+`"`, "%s: the record says the end the log says", cid)
		// and when: the kept end's time, not the restart's
		at := evs[0].Time.UTC().Format(time.RFC3339)
		assert.Contains(t, body, `"disconnected_at":"`+at+`"`, "%s: the record's end is the log's", cid)
	}
}

// waitEventsOf waits until /v1/events?query holds at least n events, and
// returns them.
func waitEventsOf(t *testing.T, base, query string, n int) []events.Event {
	t.Helper()
	var got struct{ Events []events.Event }
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/v1/events?"+query)
		got.Events = nil
		return json.Unmarshal([]byte(body), &got) == nil && len(got.Events) >= n
	}, 20*time.Second, 50*time.Millisecond, "%d events of %s", n, query)
	return got.Events
}

// waitDisconnectSeen waits until the node has ended the one session a
// test closed: its client.disconnected is then queued (the registry
// emits it before the line), whatever the writer does with it.
func waitDisconnectSeen(t *testing.T, p *testkit.Served) {
	t.Helper()
	p.WaitLog(t, 10*time.Second, `"msg":"client disconnected"`, `"reason":"closed by client"`)
}

// waitEventsQueued waits until the node at base has n events not in the
// log: waiting for its writer, or being published and not acknowledged.
func waitEventsQueued(t *testing.T, base string, n float64) {
	t.Helper()
	waitMetric(t, base, "cliser_events_queued", n)
}

// waitMetric waits until the node at base shows series at n.
func waitMetric(t *testing.T, base, series string, n float64) {
	t.Helper()
	require.Eventually(t, func() bool {
		got, ok := testkit.Metric(base, series)
		return ok && got == n
	}, waitFor, tick, "%s %v", series, n)
}

// nodeArgs makes the flags of a node named name with its data in dir,
// on NATS at url, with the heartbeat's TTL hb.
func nodeArgs(url, hb string) func(name, dir string) []string {
	return func(name, dir string) []string {
		return append(append([]string{}, clusterFlags...), "--node-id", name, "--data-dir", dir,
			"--cluster", url, "--cluster-heartbeat", hb)
	}
}

// waitRecords waits until the node at base holds n records in the
// cluster's bucket, as its mirror has them.
func waitRecords(t *testing.T, base string, n float64) {
	t.Helper()
	waitMetric(t, base, "cliser_cluster_records", n)
}

// stopNATS stops ns and waits until the node at base has seen it go.
func stopNATS(t *testing.T, ns *server.Server, base string) {
	t.Helper()
	ns.Shutdown()
	ns.WaitForShutdown()
	waitNATSGone(t, base)
}

// waitNATSGone waits until the node at base has seen NATS go.
func waitNATSGone(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/metrics")
		return strings.Contains(body, "\ncliser_cluster_nats_connected 0\n")
	}, 10*time.Second, 20*time.Millisecond, "the node never saw NATS go")
}

// A session another node ended meanwhile (it judged the stopped node lost
// once NATS was back) is not ended again by the spill file: the log has
// its "node lost", once.
func TestBinarySpilledEndOfASessionMarkedLostIsLeftOut(t *testing.T) {
	t.Parallel()
	natsDir, dataDir := t.TempDir(), t.TempDir()
	ns := testkit.NATSAt(t, natsDir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	env := []string{"CLISER_PASSWORD=cl-lost", "CLISER_ADMIN_TOKEN="}
	node := nodeArgs(ns.ClientURL(), "2s")
	p := testkit.Serve(t, env, node("lost-1", dataDir)...)
	survivor := testkit.Serve(t, env, node("lost-2", t.TempDir())...)
	opsConnect(t, p.Addr, "cl-lost", "gone")
	waitRecords(t, p.AdminURL(t), 1)

	stopNATS(t, ns, p.AdminURL(t))
	assert.Equal(t, 1, p.Stop(t))
	p.WaitLog(t, waitFor, "kept in the spill file", `"events":1`)

	testkit.NATSAt(t, natsDir, port)
	lost := waitEventsOf(t, survivor.AdminURL(t), "type=client.disconnected&cid=gone", 1)
	require.Equal(t, "node lost", *lost[0].Reason)

	spill := filepath.Join(dataDir, events.SpillFile("lost-1"))
	p2 := testkit.Serve(t, env, node("lost-1", dataDir)...)
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, waitFor, tick,
		"the spill file released:\n%s", p2.LogText())
	p2.WaitLog(t, waitFor, "publishing the events the last stop kept", `"events":0`, `"left_out":1`)
	evs := waitEventsOf(t, p2.AdminURL(t), "type=client.disconnected&cid=gone", 1)
	assert.Len(t, evs, 1, "one end of the session: the survivor's")
}

// A client whose node stopped while NATS was away, and that came back on
// another node before that node restarted: its new session is the other
// node's, so the restart leaves its record alone (no "server restarted"
// over a live session) and publishes the kept end of the old session,
// which nothing else ended: one end per session.
func TestBinarySpilledEndOfAClientThatMovedIsPublishedOnce(t *testing.T) {
	t.Parallel()
	natsDir, dataDir := t.TempDir(), t.TempDir()
	ns := testkit.NATSAt(t, natsDir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	env := []string{"CLISER_PASSWORD=cl-move", "CLISER_ADMIN_TOKEN="}
	// A heartbeat long enough that the other node takes the client over
	// before it could judge the stopped node lost (that path is
	// TestBinarySpilledEndOfASessionMarkedLostIsLeftOut).
	node := nodeArgs(ns.ClientURL(), "20s")
	p := testkit.Serve(t, env, node("move-1", dataDir)...)
	other := testkit.Serve(t, env, node("move-2", t.TempDir())...)
	c := opsConnect(t, p.Addr, "cl-move", "mover")
	first := waitEventsOf(t, p.AdminURL(t), "type=client.connected&cid=mover", 1)[0].Session
	waitRecords(t, p.AdminURL(t), 1)

	stopNATS(t, ns, p.AdminURL(t))
	require.NoError(t, c.Conn.Close())
	waitDisconnectSeen(t, p)
	assert.Equal(t, 1, p.Stop(t))
	p.WaitLog(t, waitFor, "kept in the spill file", `"events":1`)

	testkit.NATSAt(t, natsDir, port)
	base := other.AdminURL(t)
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/metrics")
		return strings.Contains(body, "\ncliser_cluster_nats_connected 1\n")
	}, 20*time.Second, 20*time.Millisecond, "the other node back on NATS")
	opsConnect(t, other.Addr, "cl-move", "mover")
	var second string
	for _, ev := range waitEventsOf(t, base, "type=client.connected&cid=mover", 2) {
		if ev.Session != first {
			second = ev.Session
		}
	}
	require.NotEmpty(t, second, "the new session's client.connected")

	spill := filepath.Join(dataDir, events.SpillFile("move-1"))
	p2 := testkit.Serve(t, env, node("move-1", dataDir)...)
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, 30*time.Second, tick,
		"the spill file published and removed:\n%s", p2.LogText())
	p2.WaitLog(t, waitFor, "publishing the events the last stop kept", `"events":1`, `"left_out":0`)

	ends := waitEventsOf(t, base, "type=client.disconnected&cid=mover", 1)
	require.Len(t, ends, 1, "one end: the old session's, kept by the stop")
	assert.Equal(t, first, ends[0].Session)
	assert.Equal(t, "closed by client", *ends[0].Reason)
	_, body := testkit.HTTPGet(t, base+"/v1/clients/mover")
	assert.Contains(t, body, `"cstatus":true`, "the moved client's live record is left alone")
	assert.Contains(t, body, `"node":"move-2"`)
	assert.NotContains(t, p2.LogText(), "server restarted")
}
