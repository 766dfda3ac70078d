package testkit

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsClusterUp bounds a cluster's start and a restarted server's return:
// a meta leader needs a Raft election (up to nats-server's 9 s election
// timeout), and the machine running the tests may be loaded.
const natsClusterUp = 30 * time.Second

// globalAccount is the account of clients that authenticate as nobody,
// which holds the streams a test's nodes make.
const globalAccount = server.DEFAULT_GLOBAL_ACCOUNT

// NATSCluster is three real nats-servers with JetStream routed into one
// cluster on 127.0.0.1, each with its own store, the way a fleet runs
// `--cluster-replicas 3`. Stop and Start end and begin one server's life
// on the same ports and store, as a crash and a restart would.
type NATSCluster struct {
	t       testing.TB
	opts    []*server.Options
	servers []*server.Server // nil while stopped
	routes  [3][3]*Relay     // routes[i][j]: server i's route to server j (NATSClusterOf3WithCuts)
}

// NATSClusterOf3 starts the cluster and returns once JetStream has a meta
// leader and every server is current with it; t's cleanup shuts them down.
// Its ports are picked free first: a clustered JetStream refuses to start
// without routes, so each server must know the others' ports before any
// runs, and a restarted server comes back on the same ones.
func NATSClusterOf3(t testing.TB) *NATSCluster {
	t.Helper()
	return NATSClusterOf3Stopped(t).startAll()
}

// NATSClusterOf3Unadvertised is NATSClusterOf3 whose servers tell their
// clients no other server's URL, so a client moves only among the URLs it
// was given: a node routed through relays moved, under load, to a server
// it had learned of, around the relays.
func NATSClusterOf3Unadvertised(t testing.TB) *NATSCluster {
	t.Helper()
	c := NATSClusterOf3Stopped(t)
	for _, o := range c.opts {
		o.Cluster.NoAdvertise = true
	}
	return c.startAll()
}

func (c *NATSCluster) startAll() *NATSCluster {
	c.t.Helper()
	for i := range c.servers {
		c.Start(i)
	}
	c.WaitCurrent()
	return c
}

// NATSClusterOf3Stopped is NATSClusterOf3 with no server started yet:
// Start them one by one, as a StatefulSet's pods come up. With one
// running, clients connect but JetStream has no meta leader (no quorum).
func NATSClusterOf3Stopped(t testing.TB) *NATSCluster {
	t.Helper()
	c := &NATSCluster{t: t, servers: make([]*server.Server, 3)}
	stores := storeDirs(t)
	// One cleanup, made before any node that uses the cluster: it runs
	// after theirs (a server restarted later must not go before them).
	t.Cleanup(c.stopAll)
	var routes []string
	clusterPorts := make([]int, 3)
	for i := range clusterPorts {
		clusterPorts[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", clusterPorts[i]))
	}
	for i := range 3 {
		c.opts = append(c.opts, &server.Options{ServerName: fmt.Sprintf("nats-%d", i), Host: "127.0.0.1",
			Port: freePort(t), JetStream: true, StoreDir: stores[i], NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "cliser-test", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ","))})
	}
	return c
}

// NATSClusterOf3WithCuts is NATSClusterOf3 whose routes run through
// relays, one per server and peer, so that Isolate can cut one server off
// from the other two while each keeps its clients: a network cut between
// NATS servers. Each server dials its peers only through its own relays
// (no route pool), and advertises a port nothing listens on, so that no
// route learned from a peer's gossip goes around the relays.
func NATSClusterOf3WithCuts(t testing.TB) *NATSCluster {
	t.Helper()
	c := &NATSCluster{t: t, servers: make([]*server.Server, 3)}
	stores := storeDirs(t)
	t.Cleanup(c.stopAll)
	clusterPorts := make([]int, 3)
	for i := range clusterPorts {
		clusterPorts[i] = freePort(t)
	}
	nowhere := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for i := range 3 {
		var routes []string
		for j := range 3 {
			if j != i {
				c.routes[i][j] = StartRelay(t, fmt.Sprintf("127.0.0.1:%d", clusterPorts[j]))
				routes = append(routes, "nats://"+c.routes[i][j].Addr())
			}
		}
		c.opts = append(c.opts, &server.Options{ServerName: fmt.Sprintf("nats-%d", i), Host: "127.0.0.1",
			Port: freePort(t), JetStream: true, StoreDir: stores[i], NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "cliser-test", Host: "127.0.0.1", Port: clusterPorts[i],
				PoolSize: -1, Advertise: nowhere},
			Routes: server.RoutesFromStr(strings.Join(routes, ","))})
		c.Start(i)
	}
	c.WaitCurrent()
	return c
}

// Isolate cuts server i's routes to both peers (cut) or heals them; its
// clients stay connected to it. Only for NATSClusterOf3WithCuts.
func (c *NATSCluster) Isolate(i int, cut bool) {
	for j := range 3 {
		if j != i {
			c.routes[i][j].SetCut(cut)
			c.routes[j][i].SetCut(cut)
		}
	}
}

// freePort is a loopback port nothing listens on now (FreeAddr's).
func freePort(t testing.TB) int {
	t.Helper()
	_, port, err := net.SplitHostPort(FreeAddr(t))
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("free port %q: %v", port, err)
	}
	return n
}

// URLs are the three servers' client URLs, in order.
func (c *NATSCluster) URLs() []string {
	urls := make([]string, len(c.opts))
	for i, o := range c.opts {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", o.Port)
	}
	return urls
}

// Server is server i (0-2), nil while stopped.
func (c *NATSCluster) Server(i int) *server.Server { return c.servers[i] }

// Stop shuts server i down; its store stays for Start.
func (c *NATSCluster) Stop(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
	c.servers[i] = nil
}

// storeDirs makes the three servers' store dirs. Before the cluster's
// cleanup: a temporary dir made after it is removed before the servers
// stop, while JetStream still writes in it ("directory not empty").
func storeDirs(t testing.TB) [3]string {
	return [3]string{t.TempDir(), t.TempDir(), t.TempDir()}
}

// stopAll stops the servers still running.
func (c *NATSCluster) stopAll() {
	for i, ns := range c.servers {
		if ns != nil {
			c.Stop(i)
		}
	}
}

// Start starts server i (again) on its ports and store.
func (c *NATSCluster) Start(i int) {
	c.t.Helper()
	c.servers[i] = startNATS(c.t, c.opts[i], natsClusterUp)
}

// StreamLeader is the index of the running server that leads stream, -1
// while none does (an election).
func (c *NATSCluster) StreamLeader(stream string) int {
	for i, ns := range c.servers {
		if ns != nil && ns.JetStreamIsStreamLeader(globalAccount, stream) {
			return i
		}
	}
	return -1
}

// Kill ends server i as its peers and its clients see a SIGKILL: its
// routes close first, so it hands no stream leadership over, then its
// client connections. Start it again, then heal with Isolate(i, false).
// Only for NATSClusterOf3WithCuts.
func (c *NATSCluster) Kill(i int) {
	c.Isolate(i, true)
	c.Stop(i)
}

// MetaLeader is the index of the running server that leads JetStream's
// meta group (the one that places streams and consumers), -1 while none
// does.
func (c *NATSCluster) MetaLeader() int {
	for i, ns := range c.servers {
		if ns != nil && ns.JetStreamIsLeader() {
			return i
		}
	}
	return -1
}

// StepDownStream asks server i, leading stream, to hand it to another.
func (c *NATSCluster) StepDownStream(i int, stream string) error {
	return c.servers[i].JetStreamStepdownStream(globalAccount, stream)
}

// LeadsStream reports whether running server i leads stream in its own
// view: one cut off from its peers may think so until it steps down.
func (c *NATSCluster) LeadsStream(i int, stream string) bool {
	ns := c.servers[i]
	return ns != nil && ns.JetStreamIsStreamLeader(globalAccount, stream)
}

// WaitCurrent waits until JetStream has a meta leader, every running
// server is current with it and, for each stream named, has a leader and
// a copy current with it on every running server.
func (c *NATSCluster) WaitCurrent(streams ...string) {
	c.t.Helper()
	deadline := time.Now().Add(natsClusterUp)
	for {
		why := c.notCurrent(streams)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("NATS cluster not current within %s: %s", natsClusterUp, why)
		}
		time.Sleep(20 * time.Millisecond) // a poll's pace, not a guess at a wait
	}
}

// unheardPeers says which running server the meta leader has no stats
// from yet, "" when none: until it has, the leader places no replica
// there, and a bucket of three replicas made then fails ("no suitable
// peers for placement, peer offline", seen once at a fleet's start).
func (c *NATSCluster) unheardPeers() string {
	leader := c.MetaLeader()
	if leader < 0 {
		return "no meta leader"
	}
	heard := map[string]bool{}
	for _, name := range c.servers[leader].JetStreamClusterPeers() {
		heard[name] = true
	}
	for i, ns := range c.servers {
		if ns != nil && !heard[ns.Name()] {
			return fmt.Sprintf("the meta leader has not heard from server %d yet", i)
		}
	}
	return ""
}

// metaDisagreement says which running server follows no meta leader or
// another than the rest, "" when all follow one. A server cut off long
// enough calls itself current with no leader (raft's leaderless grace),
// and after the heal its higher term makes the leader step down:
// JetStream answered "temporarily unavailable" for 9 s after WaitCurrent
// had returned (seen at the suite's load).
func (c *NATSCluster) metaDisagreement() string {
	leader := ""
	for i, ns := range c.servers {
		if ns == nil {
			continue
		}
		jsz, err := ns.Jsz(&server.JSzOptions{})
		if err != nil || jsz.Meta == nil || jsz.Meta.Leader == "" {
			return fmt.Sprintf("server %d knows no meta leader", i)
		}
		if leader != "" && jsz.Meta.Leader != leader {
			return fmt.Sprintf("server %d follows meta leader %s, another %s", i, jsz.Meta.Leader, leader)
		}
		leader = jsz.Meta.Leader
	}
	return ""
}

// notCurrent says what is not current yet, "" when all is.
func (c *NATSCluster) notCurrent(streams []string) string {
	leader := false
	for i, ns := range c.servers {
		if ns == nil {
			continue
		}
		leader = leader || ns.JetStreamIsLeader()
		if !ns.JetStreamIsCurrent() {
			return fmt.Sprintf("server %d behind the meta leader", i)
		}
		for _, s := range streams {
			if !ns.JetStreamIsStreamCurrent(globalAccount, s) {
				return fmt.Sprintf("stream %s on server %d behind its leader", s, i)
			}
		}
	}
	if !leader {
		return "no meta leader"
	}
	if why := c.unheardPeers(); why != "" {
		return why
	}
	if why := c.metaDisagreement(); why != "" {
		return why
	}
	for _, s := range streams {
		if c.StreamLeader(s) < 0 {
			return "no leader for stream " + s
		}
	}
	return ""
}
