package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// clusterRun is one Cluster call: its settings, what it started and the
// result its steps fill in.
type clusterRun struct {
	s        ClusterSettings
	progress io.Writer
	res      *ClusterResult
	nodes    []*clusterNode
	fleets   []multiFleet
}

func (c *clusterRun) say(format string, args ...any) {
	fmt.Fprintf(c.progress, "cluster  "+format+"\n", args...)
}

// newClusterResult is a run's result before it starts, with the load
// average: the machine is shared, and a busy one stretches every figure.
func newClusterResult(s ClusterSettings) *ClusterResult {
	res := &ClusterResult{Started: time.Now().UTC(), Settings: s, Clients: int64(s.Nodes * s.PerNode)}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.TrimSpace(string(b))
	}
	return res
}

// noteNodes puts each started node's id and addresses in the result.
func (c *clusterRun) noteNodes() {
	for _, n := range c.nodes {
		c.res.Nodes = append(c.res.Nodes, ClusterNode{ID: n.id, Addr: n.Addr(), Admin: n.admin.Base()})
	}
	c.say("%d nodes ready", len(c.nodes))
}

// renice runs the load processes at LoadNice, when set: a diagnostic.
func (c *clusterRun) renice() error {
	if c.s.LoadNice == 0 {
		return nil
	}
	if err := reniceLoad(c.fleets, c.s.LoadNice); err != nil {
		return err
	}
	c.say("load processes at nice %d (diagnostic)", c.s.LoadNice)
	return nil
}

// closeFleets ends every node's load, a failure to a problem of the run.
func (c *clusterRun) closeFleets() {
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, f := range c.fleets {
		if err := f.Close(cctx); err != nil {
			c.res.Problems = append(c.res.Problems, fmt.Sprintf("closing the load: %v", err))
		}
	}
}

// rampAndSettle ramps every node's load at once, then waits until every
// node's mirror shows every load client connected (the ramp's backlog
// written and watched): the samples are taken in that steady state. The
// CPU profile, the nats-server's work and the settle watch cover both.
func (c *clusterRun) rampAndSettle(ctx context.Context, ns *natsserver.Server) error {
	res := c.res
	stopProfile, err := startCPUProfile(c.s.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	work := startNATSWork(ns)
	obs := startSettleWatch(ctx, c.nodes, c.fleets)
	defer obs.finish(res)
	if err := clusterRamp(ctx, c.s, c.fleets, res); err != nil {
		return err
	}
	obs.rampEnded(ctx)
	c.say("%d of %d registered in %v: %.0f/s", res.Handshakes, res.Clients, res.RampWall.Round(time.Millisecond), res.RegistrationRate)

	settle, err := waitMirrors(ctx, c.nodes, res.Handshakes, 2*time.Minute)
	res.MirrorSettle = settle
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
	}
	c.say("every node's mirror shows %d connected %v after the ramp", res.Handshakes, settle.Round(time.Millisecond))
	stopProfile()
	res.NATS = work.done(res.Handshakes)
	obs.finish(res)
	c.say("over ramp and settle: nats-server ran %v, waited %v for a CPU; load ran %v, waited %v",
		res.CPU.NATS.Run.Round(time.Millisecond), res.CPU.NATS.Wait.Round(time.Millisecond),
		res.CPU.Load.Run.Round(time.Millisecond), res.CPU.Load.Wait.Round(time.Millisecond))
	return nil
}

// takeSamples times the visibility samples, then the routing ones.
func (c *clusterRun) takeSamples(ctx context.Context) {
	res, first, last := c.res, c.nodes[0], c.nodes[len(c.nodes)-1]
	m := &sampler{s: c.s, nodes: c.nodes, password: c.s.Load.Password}
	vis, local, lost := m.visibility(ctx)
	res.Visibility, res.VisibilityLocal, res.VisibilityLost = latencyOf(vis), latencyOf(local), lost
	c.say("visibility on every node: p50 %dµs p99 %dµs (%d samples, %d timed out)", res.Visibility.P50, res.Visibility.P99, res.Visibility.Count, lost)

	route, answer, rlost := m.routing(ctx)
	res.Routing, res.RoutingAnswer, res.RoutingLost = latencyOf(route), latencyOf(answer), rlost
	c.say("routing %s → %s: p50 %dµs p99 %dµs (%d samples, %d failed)", first.id, last.id, res.Routing.P50, res.Routing.P99, res.Routing.Count, rlost)
}

// readNodesAtEnd reads each node's RSS and threads, and its load's registered
// clients and errors, at the end of the run.
func (c *clusterRun) readNodesAtEnd() {
	res := c.res
	for i, n := range c.nodes {
		if ps, err := sampleProc(n.PID()); err == nil {
			res.Nodes[i].RSS, res.Nodes[i].Threads = ps.RSS, ps.Threads
		}
		if st, err := c.fleets[i].Counts(); err == nil {
			res.Nodes[i].Registered = st.Registered
			for k, v := range st.Errors {
				if res.Errors == nil {
					res.Errors = map[string]int64{}
				}
				res.Errors[k] += v
			}
		}
	}
}
