package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// httpGet is a GET on node's admin API, with its status, stale header and
// how long it took.
func (tn *testNode) httpGet(t testing.TB, path string, out any) (status int, stale string, took time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get("http://" + tn.n.AdminAddr() + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	took = time.Since(start)
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode, resp.Header.Get(admin.HeaderStale), took
}

// With NATS down, a read of a client held by another node answers at once
// from the mirror, marked stale; a command to such a client is refused at
// once (503); a command to a client of this node still works; the gauge
// says NATS is unreachable. When NATS is back, reads are fresh again.
func TestNATSDownAnswersFromMirror(t *testing.T) {
	ns, restartNATS := restartableNATS(t)
	url := ns.ClientURL()
	n1 := startNode(t, url, "n1")
	n2 := startNode(t, url, "n2")
	near := register(t, n1.srv.Addr(), "near-1")
	register(t, n2.srv.Addr(), "far-1")
	gone := register(t, n1.srv.Addr(), "near-gone")
	require.NoError(t, gone.Conn.Close())
	eventually(t, func() bool { return n1.listed(t, "far-1") && n1.listed(t, "near-1") }, "both listed on n1")
	eventually(t, func() bool { r, ok := n1.record(t, "near-gone"); return ok && !r.CStatus }, "near-gone's end published")
	assert.Equal(t, 1.0, n1.metric(t, cluster.MetricClusterNATSConnected, ""))
	var rec admin.ClientRecord
	status, stale, _ := n1.httpGet(t, "/v1/clients/far-1", &rec)
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, stale, "NATS up: not stale")
	assert.NotNil(t, rec.ConnectedAt)
	got, err := n1.api.Get(context.Background(), "far-1")
	require.NoError(t, err)
	assert.False(t, got.Stale)

	ns.Shutdown()
	ns.WaitForShutdown()
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNATSConnected, "") == 0 },
		"the gauge says NATS is unreachable")

	// Reads: from the mirror, at once, marked stale.
	const prompt = time.Second // the docs promise 3 s; a mirror read needs no round trip
	status, stale, took := n1.httpGet(t, "/v1/clients/far-1", &rec)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "true", stale)
	assert.Less(t, took, prompt)
	assert.True(t, rec.CStatus)
	assert.Equal(t, "n2", rec.Node)
	// What the mirror does not hold is not known: null times (not the
	// year 1), sid 0, no address; the Go client says stale.
	assert.Nil(t, rec.ConnectedAt)
	assert.Nil(t, rec.LastSeen)
	assert.Zero(t, rec.SID)
	assert.Empty(t, rec.CIP)
	got, err = n1.api.Get(context.Background(), "far-1")
	require.NoError(t, err)
	assert.True(t, got.Stale)
	list, err := n1.api.List(context.Background(), "", "", 0, "")
	require.NoError(t, err)
	assert.True(t, list.Stale)
	var page admin.ListResponse
	status, stale, took = n1.httpGet(t, "/v1/clients", &page)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "true", stale)
	assert.Less(t, took, prompt)
	require.Len(t, page.Clients, 3)
	// This node's own ended client: its registry's whole record, not the
	// index's cid, node and state.
	assert.Equal(t, "near-gone", page.Clients[2].CID)
	assert.NotEmpty(t, page.Clients[2].CIP, "near-gone's record from n1's registry")
	// A client that registers here meanwhile is in this node's own list
	// (docs/cluster.md: "its own clients as its registry holds them now"),
	// page by page too; it was missing, though its GET found it.
	register(t, n1.srv.Addr(), "during-1")
	var cids []string
	for cursor := ""; ; {
		status, stale, _ = n1.httpGet(t, "/v1/clients?status=connected&limit=1&cursor="+cursor, &page)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "true", stale)
		for _, c := range page.Clients {
			cids = append(cids, c.CID+"@"+c.Node)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	assert.Equal(t, []string{"during-1@n1", "far-1@n2", "near-1@n1"}, cids)
	status, stale, took = n1.httpGet(t, "/v1/clients/nobody", nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "true", stale, "not in the mirror either: a stale 404")
	assert.Less(t, took, prompt)

	// A command to another node's client: 503 at once.
	ctx := context.Background()
	start := time.Now()
	_, err = n1.api.Kick(ctx, "far-1")
	var se *admin.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.Status)
	assert.Contains(t, se.Error(), "NATS")
	assert.Less(t, time.Since(start), prompt)

	// Shutdown-all would reach only part of the fleet: refused at once,
	// nothing sent (near-1 gets no 130).
	start = time.Now()
	_, err = n1.api.ShutdownAll(ctx, "partial")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusServiceUnavailable, se.Status)
	assert.Less(t, time.Since(start), prompt)

	// A client this node does not hold may have registered elsewhere
	// meanwhile: whether it is connected can not be told, a 503 too. It
	// was "no client" (404), for a client live on another node since the
	// outage began (cluster audit).
	for _, cid := range []string{"nobody", "near-gone"} {
		_, err = n1.api.Kick(ctx, cid)
		require.ErrorAs(t, err, &se, cid)
		assert.Equal(t, http.StatusServiceUnavailable, se.Status, cid)
		assert.Contains(t, se.Error(), "NATS does not answer, so whether another node holds "+cid+" can not be told", cid)
	}

	// A command to this node's own client needs no NATS.
	_, err = n1.api.Kick(ctx, "near-1")
	require.NoError(t, err)
	near.ExpectClosed("190 " + protocol.ReasonKicked.String())

	restartNATS()
	eventually(t, func() bool { return n1.metric(t, cluster.MetricClusterNATSConnected, "") == 1 }, "NATS back")
	eventually(t, func() bool {
		status, stale, _ := n1.httpGet(t, "/v1/clients/far-1", &rec)
		return status == http.StatusOK && stale == ""
	}, "reads are fresh again")
	eventually(t, func() bool {
		r, ok := n2.record(t, "near-1")
		return ok && !r.CStatus && r.Reason == protocol.ReasonKicked.String()
	}, "the kick done while NATS was down reached the bucket")
	n1.stop()
	n2.stop()
}

// A beat in flight when NATS stops (n1 sent it, NATS never answers) and
// NATS back at once: n1 renews its heartbeat again before the others judge
// it, so its live client is not marked "node lost". Before the beat was
// bounded by the interval it waited out the 5 s op timeout, five heartbeat
// TTLs, and n2 marked n1's clients about a TTL after NATS was back.
func TestBeatInFlightWhenNATSStops(t *testing.T) {
	ns, restartNATS := restartableNATS(t)
	url := ns.ClientURL()
	relay := testkit.StartRelay(t, strings.TrimPrefix(url, "nats://"))
	var armed atomic.Bool
	n1 := startNode(t, "nats://"+relay.Addr(), "n1", cluster.WithBeforeBeat(func() {
		if armed.CompareAndSwap(true, false) {
			relay.SetHeld(true) // this beat, and all n1 sends after it, never reach NATS
		}
	}))
	n2 := startNode(t, url, "n2")
	register(t, n1.srv.Addr(), "f-1")
	register(t, n2.srv.Addr(), "f-2")
	eventually(t, func() bool { return n2.listed(t, "f-1") && n1.listed(t, "f-2") }, "both listed")

	armed.Store(true)
	beat := []byte("PUB $KV." + cluster.DefaultNodesBucket + ".n1 ")
	eventually(t, func() bool { return bytes.Contains(relay.Held(), beat) }, "n1's beat sent and held")
	ns.Shutdown()
	ns.WaitForShutdown()
	relay.SetHeld(false) // to a server gone: the held beat is lost with it
	restartNATS()

	// n1's heartbeat renewed four times after the outage (over a TTL):
	// n2 judges a TTL after NATS answers it again, and from then on finds
	// n1's key each time.
	nodes := bucketKV(t, url, cluster.DefaultNodesBucket)
	revs := make(map[uint64]bool)
	eventually(t, func() bool {
		if e, err := nodes.Get(context.Background(), "n1"); err == nil {
			revs[e.Revision()] = true
		}
		return len(revs) >= 5 // the one before the outage may be among them
	}, "n1 beats on after the outage")
	assert.Equal(t, 0.0, n1.metric(t, cluster.MetricClusterMarkedLost, "")+n2.metric(t, cluster.MetricClusterMarkedLost, ""),
		"a live node's client marked lost")
	assert.True(t, n2.listed(t, "f-1"), "n1's live client stays connected")
	n1.stop()
	n2.stop()
}
