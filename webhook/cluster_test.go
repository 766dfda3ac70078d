package webhook

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// clusterNode is one node's delivery: its own NATS connection, the shared
// KV cursor and the lease.
type clusterNode struct {
	name string
	nc   *nats.Conn
	r    *running
}

func startClusterNode(t *testing.T, natsURL, name, url string, log events.Reader) *clusterNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js := testkit.JetStream(t, natsURL)
	cursor, err := NewKVCursor(ctx, js, url, 1)
	require.NoError(t, err)
	lease, err := NewKVLease(ctx, js, url, name, time.Second, 1, zaptest.NewLogger(t).Named(name))
	require.NoError(t, err)
	r := startDeliverer(t, url, log, cursor, WithLease(lease), WithBatch(20), WithLinger(20*time.Millisecond))
	return &clusterNode{name: name, nc: nc, r: r}
}

// kill stops the node as kill -9 would: its NATS connection drops (no
// lease release, no last cursor write) and delivery stops mid-request.
func (n *clusterNode) kill() {
	n.nc.Close()
	_ = n.r.halt()
}

// TestClusterFailoverLosesNothing: three nodes share the log; only the
// lease holder delivers. The holder is killed mid-stream: another node
// takes over after the lease's TTL and resumes from the shared cursor.
// Every event arrives; an event that arrives twice comes in a request
// with the same webhook-id and body as before (recognisable).
func TestClusterFailoverLosesNothing(t *testing.T) {
	ns := testkit.NATS(t)
	l, _ := tempLog(t)
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	// The webhook is configured before the events, as on a running
	// cluster: the first node stores its start at seq 0.
	nodes := []*clusterNode{startClusterNode(t, ns.ClientURL(), "n1", url, l)}
	eventually(t, func() bool { return nodes[0].r.d.Delivering() }, "n1 delivers")
	nodes = append(nodes, startClusterNode(t, ns.ClientURL(), "n2", url, l), startClusterNode(t, ns.ClientURL(), "n3", url, l))

	const total = 600
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a steady stream of events, during the kill too
		defer wg.Done()
		for i := range total {
			if !l.Append(events.Event{Type: events.TypeConnected, CID: "dev-" + strconv.Itoa(i)}) {
				t.Error("append refused")
				return
			}
			if i%5 == 4 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	eventually(t, func() bool { return len(seqsOf(rc.requests(), all)) >= 100 }, "delivery under way")
	holders := 0
	var victim *clusterNode
	for _, n := range nodes {
		if n.r.d.Delivering() {
			holders++
			victim = n
		}
	}
	require.Equal(t, 1, holders, "exactly one node delivers")
	victim.kill()
	wg.Wait()

	eventually(t, func() bool { return len(distinct(seqsOf(rc.requests(), all))) >= total }, "every event delivered after the takeover")
	reqs := rc.requests()
	require.Equal(t, seqRange(1, total), distinct(seqsOf(reqs, all)), "no event lost")

	// Duplicates are recognisable: a webhook-id always carries the same
	// events, and an event seen twice came again under the same id.
	byID := map[string][]events.Event{}
	firstID := map[uint64]string{}
	dups := 0
	for _, q := range reqs {
		require.True(t, q.verified)
		evs := q.payload.Data.Events
		if prev, ok := byID[q.id]; ok {
			require.Equal(t, prev, evs, "webhook-id %s sent with other events", q.id)
		}
		byID[q.id] = evs
		for _, e := range evs {
			if id, seen := firstID[e.Seq]; seen {
				dups++
				require.Equal(t, id, q.id, "event %d again, under another webhook-id", e.Seq)
				continue
			}
			firstID[e.Seq] = q.id
		}
	}
	t.Logf("%d requests, %d duplicate events after killing %s", len(reqs), dups, victim.name)
	holders = 0
	for _, n := range nodes {
		if n != victim && n.r.d.Delivering() {
			holders++
		}
	}
	require.Equal(t, 1, holders, "one survivor delivers")
}

// distinct is seqs without repeats, in first-seen order.
func distinct(seqs []uint64) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, s := range seqs {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// TestClusterGoneDisablesTheClustersWebhook: a 410 from the receiver turns
// the cluster's webhook off, not only the delivering node's: the node that
// got it keeps the lease, so no other node takes over and sends the same
// request again. Before, the disabled node gave the lease up at once and
// each of the other nodes in turn sent the batch and got its own 410 (the
// receiver that said "gone" got it three times on three nodes).
func TestClusterGoneDisablesTheClustersWebhook(t *testing.T) {
	ns := testkit.NATS(t)
	l, _ := tempLog(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	url := rc.srv.URL + "/hook"
	nodes := []*clusterNode{startClusterNode(t, ns.ClientURL(), "n1", url, l)}
	eventually(t, func() bool { return nodes[0].r.d.Delivering() }, "n1 delivers")
	nodes = append(nodes, startClusterNode(t, ns.ClientURL(), "n2", url, l), startClusterNode(t, ns.ClientURL(), "n3", url, l))

	appendN(t, l, 3)
	eventually(t, func() bool { return nodes[0].r.d.Disabled() }, "n1 disabled by the 410")
	// The lease lives 1 s and a waiting node tries every 250 ms: a node
	// that took it over would have sent within this window.
	require.Never(t, func() bool { return len(rc.requests()) > 1 }, 2*time.Second, 10*time.Millisecond,
		"the receiver answered 410; no other node may send it the batch again")
	for _, n := range nodes[1:] {
		require.False(t, n.r.d.Disabled(), "%s never sent", n.name)
		require.False(t, n.r.d.Delivering(), "%s does not deliver", n.name)
	}
}
