package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/cliser/cliser/bench/load"
)

// ClusterSettings shape a cluster run: Nodes `cliser serve --cluster`
// subprocesses on one embedded NATS JetStream server, PerNode load clients
// on each, then the two cluster measurements.
type ClusterSettings struct {
	Nodes   int `json:"nodes"`
	PerNode int `json:"clients_per_node"`
	// VisibilitySamples is how many fresh clients are timed from their
	// "140 connected" until every node's API shows them connected.
	VisibilitySamples int `json:"visibility_samples"`
	// RoutingSamples is how many clients held by the last node are kicked
	// through the first node's API.
	RoutingSamples int `json:"routing_samples"`
	// Poll is how often a node's API is asked for a sample's record: the
	// visibility figures are rounded up to about this much.
	Poll time.Duration `json:"poll"`
	// SampleTimeout bounds one sample (visibility or routing).
	SampleTimeout time.Duration `json:"sample_timeout"`
	// Load is the per-process shape (PerWorker, SourceIPs, Concurrency,
	// KeepAlive...); its Stages are not used.
	Load Settings `json:"load"`
	// CPUProfile, when set, is where the harness process's CPU profile
	// from the ramp's start until every node settled goes: the embedded
	// nats-server's work (the nodes are processes of their own).
	CPUProfile string `json:"-"`
	// LoadNice, when not 0, runs the load processes at this nice value: a
	// diagnostic (not the default run) of whether the settle is bound by
	// CPU shares on a machine the load shares with NATS and the nodes.
	LoadNice int `json:"load_nice,omitempty"`
}

// DefaultCluster is the quick run: 3 nodes × 3000 clients.
func DefaultCluster() ClusterSettings {
	l := Quick()
	l.Mode = "cluster"
	l.Stages = nil
	// Handshakes go as fast as the fleet goes; the keep-alive is the
	// serve default's order, so the held clients cost little CPU.
	l.KeepAlive, l.KeepAliveTimeout = 5*time.Second, 15*time.Second
	return ClusterSettings{Nodes: 3, PerNode: 3000, VisibilitySamples: 200, RoutingSamples: 100,
		Poll: 2 * time.Millisecond, SampleTimeout: 20 * time.Second, Load: l}
}

// ClusterNode is one node's figures.
type ClusterNode struct {
	ID         string `json:"id"`
	Addr       string `json:"addr"`
	Admin      string `json:"admin"`
	Registered int64  `json:"registered"` // load clients registered on it at the top
	RSS        int64  `json:"rss_bytes"`  // at the top, samples and load connected
	Threads    int    `json:"threads"`
	// AckRamp and AckSettle are its record writes' publish-to-acknowledgement
	// times over the ramp and over the settle.
	AckRamp   AckLatency `json:"publish_ack_ramp"`
	AckSettle AckLatency `json:"publish_ack_settle"`
}

// Latency is a histogram's summary in microseconds.
type Latency struct {
	Count int64 `json:"count"`
	P50   int64 `json:"p50_us"`
	P99   int64 `json:"p99_us"`
	Max   int64 `json:"max_us"`
	Mean  int64 `json:"mean_us"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{Count: h.TotalCount(), P50: h.ValueAtQuantile(50), P99: h.ValueAtQuantile(99),
		Max: h.Max(), Mean: int64(h.Mean())}
}

// ClusterResult is a cluster run's report.
type ClusterResult struct {
	Started  time.Time       `json:"started"`
	Settings ClusterSettings `json:"settings"`
	Workers  int             `json:"load_processes"`
	// LoadAvg is /proc/loadavg at the start: the machine is shared, and a
	// busy one stretches every figure.
	LoadAvg string        `json:"loadavg_at_start"`
	Nodes   []ClusterNode `json:"nodes"`
	// Registration: every node's load ramped at once, wall clock from the
	// first connect to the last "140 connected".
	Clients          int64         `json:"clients"`
	Handshakes       int64         `json:"handshakes"`
	RampWall         time.Duration `json:"ramp_wall"`
	RegistrationRate float64       `json:"registration_rate_per_s"`
	Handshake        Latency       `json:"handshake"`
	// MirrorSettle is from the end of the ramp until every node's
	// cliser_cluster_clients_connected reads every load client: the
	// ramp's backlog written to the bucket and seen by every watch.
	MirrorSettle time.Duration `json:"mirror_settle"`
	// NATS is the embedded server's work from the ramp's start until
	// every node settled (cluster_nats.go).
	NATS NATSWork `json:"nats_ramp_and_settle"`
	// CPU is who ran and who waited for a CPU over the same span;
	// Backlog the write backlog every 250 ms (cluster_backlog.go).
	CPU     ClusterCPU     `json:"cpu_ramp_and_settle"`
	Backlog []BacklogPoint `json:"backlog"`
	// Visibility: a sample client's "140 connected" (read by the harness)
	// until GET /v1/clients/{cid} answers 200 with cstatus true on every
	// node; Local is the same on the node that holds it.
	Visibility      Latency `json:"visibility_all_nodes"`
	VisibilityLocal Latency `json:"visibility_holding_node"`
	VisibilityLost  int     `json:"visibility_timeouts"`
	// Routing: POST /v1/clients/{cid}/kick on the first node for a client
	// held by the last, until the client reads "190 kicked"; Answer is
	// until the POST's 202.
	Routing       Latency `json:"routing_to_190"`
	RoutingAnswer Latency `json:"routing_post_answer"`
	RoutingLost   int     `json:"routing_failures"`
	// Errors are the load's, by kind; Problems what else went wrong.
	Errors   map[string]int64 `json:"errors,omitempty"`
	Problems []string         `json:"problems,omitempty"`
}

// OK says whether every client registered and every sample was measured.
func (r *ClusterResult) OK() bool {
	return r.Handshakes == r.Clients && r.VisibilityLost == 0 && r.RoutingLost == 0 &&
		len(r.Problems) == 0 && len(r.Errors) == 0
}

// clusterSourceNet is the 127.N.0.0/16 block the cluster's load dials from
// (node k uses 127.N+k), apart from compare's and the soak's.
const clusterSourceNet = 40

// Cluster runs the cluster benchmark. The error is for a run that could
// not be made; what went wrong under load is in the result.
func Cluster(ctx context.Context, s ClusterSettings, env Env) (*ClusterResult, error) {
	if s.Nodes < 2 || s.PerNode < 1 {
		return nil, errors.New("cluster: want at least 2 nodes and 1 client per node")
	}
	if env.Progress == nil {
		env.Progress = io.Discard
	}
	c := &clusterRun{s: s, progress: env.Progress, res: newClusterResult(s)}
	res := c.res
	ns, url, err := startEmbeddedNATS(filepath.Join(env.WorkDir, "nats"))
	if err != nil {
		return nil, err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	c.say("nats-server with JetStream on %s", url)

	c.nodes, err = startClusterNodes(ctx, s, env, url)
	defer stopClusterNodes(c.nodes, res)
	if err != nil {
		return nil, err
	}
	c.noteNodes()

	fleets, workers, err := startClusterFleets(ctx, s, env, c.nodes)
	if err != nil {
		return nil, err
	}
	c.fleets, res.Workers = fleets, workers
	if err := c.renice(); err != nil {
		return res, err
	}
	defer c.closeFleets()

	if err := c.rampAndSettle(ctx, ns); err != nil {
		return res, err
	}
	c.takeSamples(ctx)
	c.readNodesAtEnd()
	return res, nil
}

func startEmbeddedNATS(dir string) (*natsserver.Server, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1,
		JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, "", fmt.Errorf("nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, "", errors.New("nats-server not ready after 15s")
	}
	return ns, ns.ClientURL(), nil
}

type clusterNode struct {
	*cliserProc
	id string
}

// startClusterNodes starts n1..nN one after the other (a node's first
// start makes the buckets; the others then find them).
func startClusterNodes(ctx context.Context, s ClusterSettings, env Env, url string) ([]*clusterNode, error) {
	var nodes []*clusterNode
	for k := 1; k <= s.Nodes; k++ {
		id := fmt.Sprintf("n%d", k)
		dir := filepath.Join(env.WorkDir, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nodes, err
		}
		p, err := startCliser(ctx, ServerOptions{Password: s.Load.Password, KeepAlive: s.Load.KeepAlive,
			KeepAliveTimeout: s.Load.KeepAliveTimeout, HandshakeTimeout: s.Load.HandshakeTimeout,
			CliserBin: env.CliserBin, WorkDir: dir, Args: []string{"--cluster", url, "--node-id", id}})
		if err != nil {
			return nodes, fmt.Errorf("node %s: %w", id, err)
		}
		nodes = append(nodes, &clusterNode{cliserProc: p, id: id})
	}
	return nodes, nil
}

func stopClusterNodes(nodes []*clusterNode, res *ClusterResult) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stopServer(n); err != nil {
				mu.Lock()
				res.Problems = append(res.Problems, fmt.Sprintf("stopping %s: %v", n.id, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// startClusterFleets gives each node its own load processes (at most
// PerWorker clients each), client ids "<node>-<i>" and source addresses.
func startClusterFleets(ctx context.Context, s ClusterSettings, env Env, nodes []*clusterNode) ([]multiFleet, int, error) {
	set := s.Load
	per := 1
	if env.WorkerExe != "" && set.PerWorker > 0 {
		per = (s.PerNode + set.PerWorker - 1) / set.PerWorker
	}
	r := &runner{set: set, env: env}
	var out []multiFleet
	workers := 0
	for k, n := range nodes {
		var fl multiFleet
		first := 0
		for i := range per {
			cfg := load.Config{Addr: n.Addr(), Password: set.Password, Concurrency: set.Concurrency,
				HandshakeTimeout: set.HandshakeTimeout, Transport: set.Transport, Loops: set.LoopsPerWorker,
				IDPrefix: n.id + "-", FirstIndex: first}
			for j := range max(set.SourceIPs, 1) {
				cfg.SourceIPs = append(cfg.SourceIPs, fmt.Sprintf("127.%d.%d.%d", clusterSourceNet+k, i+1, j+1))
			}
			first += share(s.PerNode, per, i)
			f, err := r.newFleet(ctx, cfg)
			if err != nil {
				for _, o := range append(out, fl) {
					_ = o.Close(ctx)
				}
				return nil, 0, err
			}
			fl = append(fl, f)
		}
		out = append(out, fl)
		if env.WorkerExe != "" {
			workers += per
		}
	}
	return out, workers, nil
}

// clusterRamp ramps every node's fleet at once and reads the rate.
func clusterRamp(ctx context.Context, s ClusterSettings, fleets []multiFleet, res *ClusterResult) error {
	errs := make([]error, len(fleets))
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, f := range fleets {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f.Ramp(ctx, s.PerNode, s.Load.Rate) }()
	}
	wg.Wait()
	res.RampWall = time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	h := load.NewHistogram()
	for _, f := range fleets {
		st, err := f.Stats()
		if err != nil {
			return err
		}
		res.Handshakes += st.Handshakes
		if st.Handshake != nil {
			h.Merge(hdrhistogram.Import(st.Handshake))
		}
	}
	res.Handshake = latencyOf(h)
	res.RegistrationRate = float64(res.Handshakes) / res.RampWall.Seconds()
	return nil
}
