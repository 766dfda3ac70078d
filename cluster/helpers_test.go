package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const testPassword = "cluster-test-pw"

// runNATS starts a real, embedded nats-server with JetStream in a temp dir.
func runNATS(t testing.TB) string {
	t.Helper()
	return testkit.NATS(t).ClientURL()
}

// restartableNATS is a nats-server whose outage a test can end: restart
// starts it again on the same port and store.
func restartableNATS(t testing.TB) (ns *server.Server, restart func()) {
	t.Helper()
	dir := t.TempDir()
	ns = testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	return ns, func() { testkit.NATSAt(t, dir, port) }
}

// stopNATS shuts ns down and waits until each node's connection is down.
func stopNATS(t *testing.T, ns *server.Server, nodes ...*testNode) {
	t.Helper()
	ns.Shutdown()
	ns.WaitForShutdown()
	for _, tn := range nodes {
		eventually(t, func() bool { return !tn.nc.IsConnected() }, "%s sees NATS gone", tn.id)
	}
}

// partitioned starts NATS and node n1 behind a relay the test can cut: a
// partition between n1 and NATS while other nodes still reach it. n1's
// clients need not read (see idleClients).
func partitioned(t *testing.T, opts ...cluster.Option) (natsURL string, cut *testkit.Relay, n1 *testNode) {
	t.Helper()
	natsURL = runNATS(t)
	cut = testkit.StartRelay(t, natsURL[len("nats://"):])
	n1 = startNodeWith(t, "nats://"+cut.Addr(), "n1", idleClients(), opts...)
	return natsURL, cut, n1
}

// idleClients is the reactor option of a node whose clients are
// handshake's, which never read: no keep-alive ends them during the test
// however long a loaded machine makes it. The default's 40 s from
// registration to timeout is no bound on a test's length: 1,500 clients
// took 43 s to handshake one by one at load 20-24.
func idleClients() []reactor.Option {
	return []reactor.Option{reactor.WithKeepAlive(time.Hour, time.Hour)}
}

// bucketKV is bucket on the NATS server at url, for tests that read or
// write it as another node (or another version) would.
func bucketKV(t testing.TB, url, bucket string) jetstream.KeyValue {
	t.Helper()
	_, js := testkit.JetStream(t, url)
	kv, err := js.KeyValue(context.Background(), bucket)
	require.NoError(t, err)
	return kv
}

// clientsKV is the clients bucket on url.
func clientsKV(t testing.TB, url string) jetstream.KeyValue {
	t.Helper()
	return bucketKV(t, url, cluster.DefaultClientsBucket)
}

// overwrite applies fix to the records of cids where the bucket holds
// them (their nodes' slots), each slot rewritten once over its last
// revision, as another writer: a survivor's marks, or a newer build.
func overwrite(t testing.TB, kv jetstream.KeyValue, fix func(*registry.Record), cids ...string) {
	t.Helper()
	want := make(map[string]bool, len(cids))
	for _, c := range cids {
		want[c] = true
	}
	ctx := context.Background()
	keys, err := kv.Keys(ctx)
	require.NoError(t, err)
	done := 0
	for _, key := range keys {
		node, _, err := cluster.ParseSlotKey(key)
		require.NoError(t, err)
		e, err := kv.Get(ctx, key)
		require.NoError(t, err)
		recs, revs, err := cluster.DecodeSlot(e.Value(), node)
		require.NoError(t, err)
		changed := false
		for i := range recs {
			if want[recs[i].CID] {
				if revs[i] == 0 {
					revs[i] = e.Revision()
				}
				fix(&recs[i])
				changed = true
				done++
			}
		}
		if !changed {
			continue
		}
		val, err := cluster.EncodeSlot(recs, revs)
		require.NoError(t, err)
		_, err = kv.Update(ctx, key, val, e.Revision())
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, done, len(cids), "every record found in the bucket")
}

// markLost is the fix a survivor applies to a lost node's record.
func markLost(r *registry.Record) {
	r.CStatus, r.Reason, r.DisconnectedAt = false, protocol.ReasonNodeLost, time.Now().UTC()
}

// bucketRecords is every client's record in the bucket, as every node's
// rule picks it among the slots that hold the cid: the highest
// registration revision.
func bucketRecords(t testing.TB, kv jetstream.KeyValue) map[string]registry.Record {
	t.Helper()
	ctx := context.Background()
	out := map[string]registry.Record{}
	revOf := map[string]uint64{}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return out
	}
	require.NoError(t, err)
	for _, key := range keys {
		node, _, err := cluster.ParseSlotKey(key)
		require.NoError(t, err)
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		require.NoError(t, err)
		recs, revs, err := cluster.DecodeSlot(e.Value(), node)
		require.NoError(t, err)
		for i, r := range recs {
			rev := revs[i]
			if rev == 0 {
				rev = e.Revision()
			}
			if rev > revOf[r.CID] {
				out[r.CID], revOf[r.CID] = r, rev
			}
		}
	}
	return out
}

// bucketRecord is cid's record in the bucket (bucketRecords).
func bucketRecord(t testing.TB, kv jetstream.KeyValue, cid string) registry.Record {
	t.Helper()
	r, ok := bucketRecords(t, kv)[cid]
	require.True(t, ok, "%s in the bucket", cid)
	return r
}

// testNode is one whole cliser node in cluster mode (package node), with
// handles on its parts for the tests.
type testNode struct {
	id      string
	n       *node.Node
	nc      *nats.Conn
	node    *cluster.Node
	reg     *registry.Registry
	srv     *reactor.Server
	api     *admin.Client
	stopped bool
}

// startNode starts node id on the NATS server at url; opts come after the
// tests' defaults and override them.
func startNode(t *testing.T, url, id string, opts ...cluster.Option) *testNode {
	t.Helper()
	return startNodeWith(t, url, id, nil, opts...)
}

// startNodes starts a node under each id on the NATS server at url.
func startNodes(t *testing.T, url string, ids ...string) []*testNode {
	t.Helper()
	nodes := make([]*testNode, len(ids))
	for i, id := range ids {
		nodes[i] = startNode(t, url, id)
	}
	return nodes
}

// startNodeWith is startNode with reactor options too, after the tests'.
func startNodeWith(t *testing.T, url, id string, ropts []reactor.Option, opts ...cluster.Option) *testNode {
	t.Helper()
	return startNodeOpts(t, url, id, node.WithReactorOptions(ropts...), node.WithClusterOptions(opts...))
}

// startNodeOpts is startNode with node options, after the tests'.
func startNodeOpts(t *testing.T, url, id string, opts ...node.Option) *testNode {
	t.Helper()
	n := nodetest.Start(t, append([]node.Option{node.WithLogger(zaptest.NewLogger(t).Named(id)),
		node.WithCluster(url, id), node.WithClusterHeartbeat(time.Second),
		node.WithNATSOptions(nats.ReconnectWait(50 * time.Millisecond)),
		node.WithClusterOptions(cluster.WithCheckInterval(200*time.Millisecond), cluster.WithRequestTimeout(2*time.Second)),
		node.WithRegistryOptions(registry.WithFlushInterval(20 * time.Millisecond)),
		node.WithReactorOptions(reactor.WithPasswords([][]byte{[]byte(testPassword)}))}, opts...)...)
	c, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	tn := &testNode{id: id, n: n, nc: n.NATS(), node: n.Cluster(), reg: n.Registry(), srv: n.Reactor(), api: c}
	t.Cleanup(tn.stop)
	return tn
}

// stop is the node's graceful stop.
func (tn *testNode) stop() {
	if tn.stopped {
		return
	}
	tn.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tn.n.Shutdown(ctx)
}

// crash stops the node hard: NATS goes first, so nothing it does after
// reaches the cluster (no goodbye, no last flush, no heartbeat removal).
func (tn *testNode) crash() {
	tn.nc.Close()
	tn.stop()
}

// register dials addr and registers id; its reads answer keep-alives.
func register(t testing.TB, addr, id string) *testkit.RawClient {
	t.Helper()
	c := testkit.Dial(t, addr)
	c.Timeout = 10 * time.Second
	c.AnswerKeepAlives = true
	c.Expect(strings.TrimSuffix(protocol.PromptPassword, "\n"))
	c.Send("110 " + testPassword + "\n")
	c.Expect(strings.TrimSuffix(protocol.PromptID, "\n"))
	c.Send("120 " + id + "\n")
	line := c.ReadLine()
	require.True(t, strings.HasPrefix(line, "140 "), "want 140, got %q", line)
	return c
}

// handshake registers id on addr without testing.T, for goroutines.
func handshake(addr, id string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, answer := range []string{"110 " + testPassword, "120 " + id} {
		if _, err := r.ReadString('\n'); err != nil {
			c.Close()
			return nil, err
		}
		if _, err := c.Write([]byte(answer + "\n")); err != nil {
			c.Close()
			return nil, err
		}
	}
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "140 ") {
		c.Close()
		return nil, fmt.Errorf("want 140, got %q, %v", line, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// record reads cid through node's admin API; ok is false on 404.
func (tn *testNode) record(t testing.TB, cid string) (admin.ClientRecord, bool) {
	t.Helper()
	rec, err := tn.api.Get(context.Background(), cid)
	var se *admin.StatusError
	if errors.As(err, &se) && se.Status == 404 {
		return admin.ClientRecord{}, false
	}
	require.NoError(t, err)
	return rec, true
}

// listAll walks every page of node's list with the given page size.
func (tn *testNode) listAll(t testing.TB, status string, limit int) []admin.ClientRecord {
	t.Helper()
	var out []admin.ClientRecord
	cursor := ""
	for {
		page, err := tn.api.List(context.Background(), status, "", limit, cursor)
		require.NoError(t, err)
		out = append(out, page.Clients...)
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// metric is the value of a cluster metric of node (label value for a
// vector, "" for none).
func (tn *testNode) metric(t testing.TB, name, label string) float64 {
	t.Helper()
	return testkit.Gathered(t, tn.node.Collectors(), name, label)
}

func eventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 15*time.Second, 10*time.Millisecond, append([]any{msg}, args...)...)
}

// listed: cid is connected in node's list, which comes from the bucket (a
// GET may answer from the node's own registry before its flush).
func (tn *testNode) listed(t testing.TB, cid string) bool {
	t.Helper()
	for _, r := range tn.listAll(t, "connected", 0) {
		if r.CID == cid {
			return true
		}
	}
	return false
}
