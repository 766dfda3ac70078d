package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
)

// The streams of a fleet's R3 state: both buckets and the event log.
var r3Streams = []string{"KV_" + cluster.DefaultClientsBucket, "KV_" + cluster.DefaultNodesBucket, events.DefaultStreamName}

// failoverBound is how long a new client may take, once one NATS server
// stopped, to be listed on every node. A node's watch of the bucket whose
// consumer (one replica) lived on that server is made again after two
// missed heartbeats of 1 s, checked every 2 s: 4 s at most, and the rest
// is margin for a loaded machine. With nats.go's default 5 s heartbeat it
// took 18-20 s (10 s at the least).
const failoverBound = 9 * time.Second

// r3Fleet is three nodes on a three-server NATS cluster with every stream
// on three replicas, and the clients each node holds.
type r3Fleet struct {
	nats  *testkit.NATSCluster
	nodes []*testNode
	live  map[string]*testkit.RawClient // cid: its connection, while connected
	logs  *observer.ObservedLogs        // every node's, info and up (startTTLFleet's only)
	ready *readyWatch
}

// A fleet on --cluster-replicas 3 loses one NATS server, first the one
// that leads the clients bucket's stream and then one that does not, and
// keeps going: no live client is marked "node lost", new clients register
// and are listed everywhere, a command routed through another node reaches
// its client, /readyz stays 200 on every node, and the event log's seqs
// only grow, each event once. Each server comes back and catches up.
func TestR3SurvivesOneNATSServer(t *testing.T) {
	t.Parallel()
	f := startR3Fleet(t)
	leader := f.nats.StreamLeader(r3Streams[0])
	require.GreaterOrEqual(t, leader, 0, "the clients bucket has a leader")
	f.loseOneServer(t, leader, "leader")
	f.loseOneServer(t, (f.nats.StreamLeader(r3Streams[0])+1)%3, "follower")
	f.ready.assertAlways200(t)
	f.assertEventLog(t)
}

// startR3Fleet starts the NATS cluster and three nodes with two clients
// each, node i preferring server i (its first URL, no shuffling) so that
// a stopped server always drops one node's connection.
func startR3Fleet(t *testing.T) *r3Fleet {
	t.Helper()
	return startR3FleetOn(t, testkit.NATSClusterOf3(t))
}

// startR3FleetOn is startR3Fleet on the cluster nc.
func startR3FleetOn(t *testing.T, nc *testkit.NATSCluster) *r3Fleet {
	t.Helper()
	f := &r3Fleet{nats: nc, live: map[string]*testkit.RawClient{}}
	urls := f.nats.URLs()
	for i := range 3 {
		order := append(append([]string{}, urls[i:]...), urls[:i]...)
		id := fmt.Sprintf("n%d", i+1)
		f.nodes = append(f.nodes, startNodeOpts(t, strings.Join(order, ","), id,
			node.WithClusterReplicas(3), node.WithEventRetention(10000),
			node.WithNATSOptions(nats.DontRandomize(), nats.ReconnectWait(50*time.Millisecond),
				nats.CustomInboxPrefix(inboxPrefix(id)))))
	}
	f.nats.WaitCurrent(r3Streams...)
	for _, tn := range f.nodes {
		for _, c := range []string{"a", "b"} {
			cid := tn.id + "-" + c
			f.live[cid] = register(t, tn.srv.Addr(), cid)
		}
	}
	f.assertAllListed(t, 15*time.Second)
	f.ready = watchReady(t, f.nodes)
	return f
}

// inboxPrefix is node id's NATS inbox prefix in an R3 fleet: the deliver
// subjects of its watches' consumers start with it, which tells a test
// whose consumer is whose.
func inboxPrefix(id string) string { return "_INBOX_" + id }

// loseOneServer stops NATS server i, checks the fleet through the outage,
// starts it again and checks the fleet once the server caught up.
func (f *r3Fleet) loseOneServer(t *testing.T, i int, step string) {
	t.Helper()
	t.Logf("%s: stopping NATS server %d (clients bucket led by %d)", step, i, f.nats.StreamLeader(r3Streams[0]))
	f.nats.Stop(i)
	f.kickThroughAnotherNode(t, step)
	f.registerEverywhere(t, step+"-down")
	f.assertNoneLost(t)
	f.nats.Start(i)
	f.nats.WaitCurrent(r3Streams...)
	f.registerEverywhere(t, step+"-back")
	f.assertNoneLost(t)
}

// kickThroughAnotherNode kicks node k's first live client through node
// k+1's admin API, k the step's: a command routed over NATS, sent as the
// server stops. Two 503s are documented, and the operator tries again:
// node k+1's own server stopped and it is dialling another (refused at
// once), or the request went out on a route to the stopping server and
// was lost with it (request/reply is at most once: no answer within the
// request timeout). Any other refusal fails the test.
func (f *r3Fleet) kickThroughAnotherNode(t *testing.T, step string) {
	t.Helper()
	k := map[string]int{"leader": 0, "follower": 1}[step]
	cid, via := f.nodes[k].id+"-"+[]string{"a", "b"}[k], f.nodes[(k+1)%3]
	start := time.Now()
	refused := 0
	for {
		_, err := via.api.Kick(context.Background(), cid)
		if err == nil {
			break
		}
		require.True(t, strings.Contains(err.Error(), "NATS does not answer") ||
			strings.Contains(err.Error(), "node "+f.nodes[k].id+" did not answer in time (context deadline exceeded)"),
			"kick %s through %s: %v", cid, via.id, err)
		require.Less(t, time.Since(start), failoverBound, "kick %s through %s", cid, via.id)
		refused++
		time.Sleep(20 * time.Millisecond) // an operator's retry, paced
	}
	f.live[cid].ExpectClosed("190 " + protocol.ReasonKicked.String())
	t.Logf("%s: kick of %s through %s reached it in %s (%d refused first)", step, cid, via.id, time.Since(start), refused)
	delete(f.live, cid)
}

// registerEverywhere registers a new client on each node and waits until
// every node lists it, within failoverBound.
func (f *r3Fleet) registerEverywhere(t *testing.T, step string) {
	t.Helper()
	start := time.Now()
	for _, tn := range f.nodes {
		cid := tn.id + "-" + step
		f.live[cid] = register(t, tn.srv.Addr(), cid)
	}
	f.assertAllListed(t, failoverBound)
	t.Logf("%s: new clients listed on every node in %s", step, time.Since(start))
}

// assertAllListed waits until every node lists every live client as
// connected.
func (f *r3Fleet) assertAllListed(t *testing.T, within time.Duration) {
	t.Helper()
	for _, tn := range f.nodes {
		require.Eventually(t, func() bool {
			got := map[string]bool{}
			for _, r := range tn.listAll(t, "connected", 0) {
				got[r.CID] = true
			}
			for cid := range f.live {
				if !got[cid] {
					return false
				}
			}
			return true
		}, within, 20*time.Millisecond, "node %s lists every live client", tn.id)
	}
}

// assertNoneLost: no node marked another's records, and every live
// client is still connected in every node's list.
func (f *r3Fleet) assertNoneLost(t *testing.T) {
	t.Helper()
	for _, tn := range f.nodes {
		assert.Zero(t, tn.metric(t, cluster.MetricClusterMarkedLost, ""), "records node %s marked lost", tn.id)
	}
	f.assertAllListed(t, failoverBound)
}

// assertEventLog reads the whole event log through node 1: seqs only
// grow, no event comes twice, every live client connected once, and no
// "node lost" anywhere. It reads until every live client's connect is
// there, for up to eventsBound: an event queued while the stream had no
// quorum is published on the writer's next try after the heal, which may
// come later than the test's other checks end.
func (f *r3Fleet) assertEventLog(t *testing.T) {
	t.Helper()
	var all []events.Event
	connected := map[string]int{}
	everyLiveConnected := func() bool {
		all = f.readEventLog(t)
		clear(connected)
		for _, ev := range all {
			if ev.Type == events.TypeConnected {
				connected[ev.CID]++
			}
		}
		for cid := range f.live {
			if connected[cid] == 0 {
				return false
			}
		}
		return true
	}
	if !pollUntil(everyLiveConnected, eventsBound, 100*time.Millisecond) {
		t.Logf("after %s, the log still lacks connects", eventsBound)
	}
	ids := map[string]bool{}
	for i, ev := range all {
		if i > 0 {
			require.Greater(t, ev.Seq, all[i-1].Seq, "seqs only grow")
		}
		require.False(t, ids[ev.ID], "event %s twice", ev.ID)
		ids[ev.ID] = true
		if ev.Reason != nil {
			require.NotEqual(t, protocol.ReasonNodeLost.String(), *ev.Reason, "%s %s", ev.Type, ev.CID)
		}
	}
	for cid := range f.live {
		assert.Equal(t, 1, connected[cid], "%s's connect events", cid)
	}
	require.NotEmpty(t, all, "the event log")
	t.Logf("event log: %d events, seqs %d..%d", len(all), all[0].Seq, all[len(all)-1].Seq)
}

// eventsBound is how long an event queued during an outage may take to
// reach the stream once NATS is whole again: the writer's longest pause
// between tries (5 s) and a try's wait for its acknowledgment (5 s), and
// the stream's election after the heal (failoverBound).
const eventsBound = 10*time.Second + failoverBound

// readEventLog is the whole event log, read through node 1 page by page.
func (f *r3Fleet) readEventLog(t *testing.T) []events.Event {
	t.Helper()
	var all []events.Event
	after := uint64(0)
	for {
		page := readEventsRetrying503(t, f.nodes[0].api, after)
		all = append(all, page.Events...)
		if len(page.Events) == 0 {
			return all
		}
		after = page.Next
	}
}

// pollUntil calls cond every tick until it is true (true) or d has
// passed (false); unlike require.Eventually, cond runs on the test's own
// goroutine, so it may fail the test.
func pollUntil(cond func() bool, d, tick time.Duration) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(tick)
	}
	return true
}

// readEventsRetrying503 is a page of the log after after, read again
// while it answers 503 (a stream just back may have no leader yet: the
// operator tries again), for up to failoverBound.
func readEventsRetrying503(t *testing.T, c *admin.Client, after uint64) admin.EventsResponse {
	t.Helper()
	deadline := time.Now().Add(failoverBound)
	for {
		page, err := c.Events(context.Background(), &after, 1000, admin.EventsFilter{}, 0)
		var se *admin.StatusError
		if err == nil || !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			require.NoError(t, err)
			return page
		}
		t.Logf("events after %d: %v; again", after, err)
		time.Sleep(100 * time.Millisecond) // the operator's retry, not a wait for a condition
	}
}

// readyWatch polls every node's /readyz through the test and keeps what
// was not a 200 with a healthy event log.
type readyWatch struct {
	mu     sync.Mutex
	not200 []string
	events []string // 200s whose body said the event log had trouble
	stop   func()
}

// watchReady starts polling; t's cleanup stops it.
func watchReady(t *testing.T, nodes []*testNode) *readyWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &readyWatch{}
	done := make(chan struct{})
	var once sync.Once
	w.stop = func() { once.Do(cancel); <-done }
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, tn := range nodes {
				w.poll(ctx, tn)
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond): // the poll's pace
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *readyWatch) poll(ctx context.Context, tn *testNode) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tn.n.AdminAddr()+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil { // else the watch is ending
			w.mu.Lock()
			w.not200 = append(w.not200, tn.id+": "+err.Error())
			w.mu.Unlock()
		}
		return
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		w.not200 = append(w.not200, fmt.Sprintf("%s: %d %v", tn.id, resp.StatusCode, body))
	} else if body["events"] != "" {
		w.events = append(w.events, tn.id+": "+body["events"])
	}
}

// assertAlways200 stops the watch: every answer was 200.
func (w *readyWatch) assertAlways200(t *testing.T) {
	t.Helper()
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.not200, "/readyz answers other than 200")
	seen := map[string]int{}
	for _, e := range w.events {
		seen[e]++
	}
	t.Logf("/readyz: %d answers of 200 whose body said the event log had trouble, by what it said: %v", len(w.events), seen)
}
