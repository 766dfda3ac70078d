package harness

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
)

// backlogEvery is the backlog timeline's step.
const backlogEvery = 250 * time.Millisecond

// BacklogPoint is the cluster's write backlog at one moment of the ramp
// and settle, summed over the nodes.
type BacklogPoint struct {
	At        time.Duration `json:"at"`        // since the ramp's start
	Ramping   bool          `json:"ramping"`   // the load was still ramping
	Unwritten int64         `json:"unwritten"` // cliser_registry_pending_writes
	InFlight  int64         `json:"in_flight"` // cliser_cluster_publish_inflight
	Written   int64         `json:"written"`   // record writes acknowledged since the ramp's start
	Mirrored  int64         `json:"mirrored"`  // cliser_cluster_clients_connected, summed
}

// AckLatency is a node's publish-to-acknowledgement histogram
// (cliser_cluster_publish_ack_seconds) over a span: the upper bounds of
// the buckets holding the p50 and p99, so true values lie at or below;
// 0 when nothing was observed, -1 when past the last bucket (4 s), which
// JSON could not carry as +Inf.
type AckLatency struct {
	Count float64 `json:"count"`
	P50   float64 `json:"p50_s"`
	P99   float64 `json:"p99_s"`
	Mean  float64 `json:"mean_s"`
}

// ackLatency is what the histogram saw between before and after.
func ackLatency(before, after *promHistogram) AckLatency {
	if after == nil {
		return AckLatency{}
	}
	d := after.since(before)
	a := AckLatency{Count: d.Count, P50: jsonBound(d.quantile(0.5)), P99: jsonBound(d.quantile(0.99))}
	if d.Count > 0 {
		a.Mean = d.Sum / d.Count
	}
	return a
}

func jsonBound(s float64) float64 {
	switch {
	case math.IsNaN(s):
		return 0
	case math.IsInf(s, 1):
		return -1
	}
	return s
}

// nodeReading is one scrape of a node's figures the settle turns on.
type nodeReading struct {
	ack                            *promHistogram
	unwritten, inflight, connected float64
	written                        float64
}

func readNode(ctx context.Context, n *clusterNode) (nodeReading, error) {
	pg, err := scrapeProm(ctx, n.admin.Base()+"/metrics")
	if err != nil {
		return nodeReading{}, err
	}
	var r nodeReading
	if r.ack, err = pg.histogram(cluster.MetricClusterPublishAck); err != nil {
		return r, err
	}
	g, err := pg.gauges(admin.MetricRegistryPendingWrites, cluster.MetricClusterPublishInflight, cluster.MetricClusterConnected)
	if err != nil {
		return r, err
	}
	r.unwritten, r.inflight, r.connected = g[0], g[1], g[2]
	// Absent until the node's first write: zero then.
	r.written, _ = pg.counter(cluster.MetricClusterWrites, "result", "ok")
	return r, nil
}

// readNodes scrapes every node; a node that did not answer reads zero and
// the error is returned.
func readNodes(ctx context.Context, nodes []*clusterNode) ([]nodeReading, error) {
	out := make([]nodeReading, len(nodes))
	var errs []error
	for i, n := range nodes {
		r, err := readNode(ctx, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.id, err))
		}
		out[i] = r
	}
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

// backlogSampler scrapes every node each backlogEvery from the ramp's
// start until stopped.
type backlogSampler struct {
	nodes   []*clusterNode
	t0      time.Time
	written float64 // at the start
	mu      sync.Mutex
	points  []BacklogPoint
	ramping bool
	fails   int
	lastErr error
	stop    context.CancelFunc
	done    chan struct{}
}

func startBacklog(ctx context.Context, nodes []*clusterNode, start []nodeReading) *backlogSampler {
	ctx, cancel := context.WithCancel(ctx)
	b := &backlogSampler{nodes: nodes, t0: time.Now(), ramping: true, stop: cancel, done: make(chan struct{})}
	for _, r := range start {
		b.written += r.written
	}
	go b.run(ctx)
	return b
}

func (b *backlogSampler) run(ctx context.Context) {
	defer close(b.done)
	t := time.NewTicker(backlogEvery)
	defer t.Stop()
	for {
		b.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *backlogSampler) sample(ctx context.Context) {
	asked := time.Now()
	rs, err := readNodes(ctx, b.nodes)
	// A scrape of busy nodes takes a while: the point is its middle.
	at := asked.Add(time.Since(asked) / 2).Sub(b.t0)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			b.fails, b.lastErr = b.fails+1, err
		}
		return
	}
	p := BacklogPoint{At: at, Ramping: b.ramping}
	var written float64
	for _, r := range rs {
		p.Unwritten += int64(r.unwritten)
		p.InFlight += int64(r.inflight)
		p.Mirrored += int64(r.connected)
		written += r.written
	}
	p.Written = int64(written - b.written)
	b.points = append(b.points, p)
}

// rampEnded marks the points from now on as the settle's.
func (b *backlogSampler) rampEnded() {
	b.mu.Lock()
	b.ramping = false
	b.mu.Unlock()
}

// finish stops the sampler, takes a last point and returns them, and a problem if some
// scrapes failed (said once, with the count).
func (b *backlogSampler) finish() ([]BacklogPoint, string) {
	b.stop()
	<-b.done
	// One more point now, so the last row is the settled state.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	b.sample(ctx)
	cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails > 0 {
		return b.points, fmt.Sprintf("backlog timeline: %d scrapes failed, the last: %v", b.fails, b.lastErr)
	}
	return b.points, ""
}

// drainRate is the records written per second over the settle's points,
// from the first until the first with nothing unwritten (the rows after
// it would only dilute the rate), NaN with fewer than two.
func drainRate(points []BacklogPoint) float64 {
	var first, last *BacklogPoint
	for i := range points {
		if points[i].Ramping {
			continue
		}
		if first == nil {
			first = &points[i]
		}
		last = &points[i]
		if last.Unwritten == 0 && last.InFlight == 0 {
			break
		}
	}
	if first == nil || last == first || last.At <= first.At {
		return math.NaN()
	}
	return float64(last.Written-first.Written) / (last.At - first.At).Seconds()
}
