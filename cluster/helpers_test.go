package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const testPassword = "cluster-test-pw"

// runNATS starts a real, embedded nats-server with JetStream in a temp dir.
func runNATS(t testing.TB) string {
	t.Helper()
	return startNATS(t, t.TempDir(), -1).ClientURL()
}

// startNATS starts a nats-server with JetStream storing in dir, on port
// (-1: any free one); t's cleanup shuts it down if the test has not.
func startNATS(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port,
		JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true,
	})
	require.NoError(t, err)
	go s.Start()
	require.True(t, s.ReadyForConnections(10*time.Second), "nats-server did not start")
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// testNode is one cliser node wired as serve wires it in cluster mode.
type testNode struct {
	id       string
	nc       *nats.Conn
	node     *cluster.Node
	reg      *registry.Registry
	srv      *reactor.Server
	api      *admin.Client
	hs       *admin.Server
	stopFlsh context.CancelFunc
	flushed  chan error
	stopped  bool
}

func startNode(t *testing.T, url, id string) *testNode {
	t.Helper()
	log := zaptest.NewLogger(t).Named(id)
	nc, err := nats.Connect(url, nats.Name("cliser-"+id),
		nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	n, err := cluster.Join(nc, id, cluster.WithHeartbeatTTL(time.Second),
		cluster.WithCheckInterval(200*time.Millisecond), cluster.WithRequestTimeout(2*time.Second),
		cluster.WithLogger(log))
	require.NoError(t, err)
	reg := registry.New(registry.WithStore(n.Store()), registry.WithNode(id),
		registry.WithFlushInterval(20*time.Millisecond))
	_, err = reg.Load()
	require.NoError(t, err)
	ctx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan error, 1)
	go func() { flushed <- reg.Run(ctx) }()

	srv, err := reactor.New(reg, reactor.WithAddr("127.0.0.1:0"),
		reactor.WithPasswords([][]byte{[]byte(testPassword)}), reactor.WithLogger(log))
	require.NoError(t, err)
	require.NoError(t, n.Start(reg, srv.ShutdownAll))
	require.NoError(t, srv.Start())
	api := admin.New(reg, admin.WithReady(srv.Ready), admin.WithDirectory(n.Directory()), admin.WithLogger(log))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	c, err := admin.NewClient("http://"+hs.Addr(), "", 5*time.Second)
	require.NoError(t, err)
	tn := &testNode{id: id, nc: nc, node: n, reg: reg, srv: srv, api: c, hs: hs, stopFlsh: stopFlush, flushed: flushed}
	t.Cleanup(tn.stop)
	return tn
}

// stop is the graceful stop, in serve's order.
func (tn *testNode) stop() {
	if tn.stopped {
		return
	}
	tn.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tn.srv.Stop(ctx)
	tn.stopFlsh()
	<-tn.flushed
	_ = tn.node.Close()
	_ = tn.hs.Shutdown(ctx)
	tn.nc.Close()
}

// crash stops the node hard: NATS goes first, so nothing it does after
// reaches the cluster (no goodbye, no last flush, no heartbeat removal).
func (tn *testNode) crash() {
	tn.stopped = true
	tn.nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tn.srv.Stop(ctx)
	tn.stopFlsh()
	<-tn.flushed
	_ = tn.node.Close()
	_ = tn.hs.Shutdown(ctx)
}

// rawClient speaks the protocol over a real TCP connection.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: t, conn: c, r: bufio.NewReader(c)}
}

// register dials addr and registers id.
func register(t testing.TB, addr, id string) *rawClient {
	t.Helper()
	c := dial(t, addr)
	c.expect(strings.TrimSuffix(protocol.PromptPassword, "\n"))
	c.send("110 " + testPassword + "\n")
	c.expect(strings.TrimSuffix(protocol.PromptID, "\n"))
	c.send("120 " + id + "\n")
	line := c.readLine()
	require.True(t, strings.HasPrefix(line, "140 "), "want 140, got %q", line)
	return c
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.t, err)
}

func (c *rawClient) expect(want string) {
	c.t.Helper()
	require.Equal(c.t, want, c.readLine())
}

// readLine reads the next line that is not a keep-alive (answered).
func (c *rawClient) readLine() string {
	c.t.Helper()
	for {
		require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		line, err := c.r.ReadString('\n')
		require.NoError(c.t, err, "read so far: %q", line)
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "100 ") {
			c.send(line + "\n")
			continue
		}
		return line
	}
}

// expectClosed checks that the server sends want and closes.
func (c *rawClient) expectClosed(want ...string) {
	c.t.Helper()
	for _, w := range want {
		c.expect(w)
	}
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	rest, err := c.r.ReadString('\n')
	require.Error(c.t, err, "expected close, got %q", rest)
	var ne net.Error
	if errors.As(err, &ne) {
		require.False(c.t, ne.Timeout(), "server did not close the connection")
	}
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
		page, err := tn.api.List(context.Background(), status, limit, cursor)
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(tn.node.Collectors()...)
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, label)
	return 0
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
