package admin

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// In cluster mode GET /v1/stats also answers a nodes list: every node's
// own figures, so one call (and the dashboard's overview) shows the whole
// cluster, and a node that is down shows as such.

// Node states in NodeStats.State.
const (
	// NodeUp: the node's heartbeat is alive and it answered.
	NodeUp = "up"
	// NodeUnreachable: its heartbeat is alive (or could not be read: NATS
	// is away) but it did not answer in time; its figures are the bucket's.
	NodeUnreachable = "unreachable"
	// NodeDown: no heartbeat (stopped or lost); it still holds records in
	// the bucket. Connected counts the ones not yet marked lost.
	NodeDown = "down"
)

// NodeStats is one node in GET /v1/stats' nodes list.
type NodeStats struct {
	Node  string `json:"node"`
	State string `json:"state"`
	// Connected is the node's own registry's count when it answered, else
	// the bucket's. Records is the bucket's: the records of the clients
	// this node held last, so the nodes' records add up to the cluster's.
	StatsFigures
	// Series is the node's connected clients over the last hour, a point
	// a minute (its samples thinned: a chart's line, kept small as every
	// node sends it at every poll); absent when the node did not answer.
	Series []StatsPoint `json:"series,omitempty"`
	// Error says why the node's own figures are missing.
	Error string `json:"error,omitempty"`
	// Notes are the node's own /v1/health notes (a full registry or
	// connection ceiling, a webhook that fails): asked of one node,
	// cliser status showed that node's alone (cluster audit).
	Notes map[string]string `json:"notes,omitempty"`
}

// Nodes is where GET /v1/stats finds every node's figures (cluster mode,
// WithNodes). Implementations must be safe from any goroutine.
type Nodes interface {
	// Serve answers the other nodes' requests for this node's figures
	// with own() until the node stops.
	Serve(own func() NodeStats) error
	// Gather returns every node the cluster knows, in name order, this
	// one's from own() without a round trip. It returns within about a
	// second however many nodes do not answer.
	Gather(ctx context.Context, own func() NodeStats) []NodeStats
}

// WithNodes adds the nodes list to GET /v1/stats (cluster mode).
func WithNodes(n Nodes) Option { return func(o *options) { o.nodes = n } }

// serveNodeStats starts answering the other nodes; called once by Listen.
func (a *API) serveNodeStats() {
	if a.opts.nodes == nil {
		return
	}
	if err := a.opts.nodes.Serve(a.ownNodeStats); err != nil {
		// The others show this node unreachable; the log says why.
		a.opts.log.Error("stats: cannot answer the other nodes for this node's figures", zap.Error(err))
	}
}

// ownNodeStats is this node's line: its registry's counts and its rates.
func (a *API) ownNodeStats() NodeStats {
	s := a.stats.snapshot(time.Now())
	return NodeStats{Node: a.reg.Node(), State: NodeUp, StatsFigures: s.StatsFigures,
		Series: thinned(s.Series, a.stats.every, nodeSeriesStep), Notes: a.Health().Notes}
}

// nodeSeriesStep is the spacing of a node's series in the nodes list.
const nodeSeriesStep = time.Minute

// thinned keeps a point every step of series (sampled every every),
// counted back from the newest, which it always keeps.
func thinned(series []StatsPoint, every, step time.Duration) []StatsPoint {
	if len(series) == 0 {
		return nil
	}
	k := max(1, int(step/every))
	out := make([]StatsPoint, 0, len(series)/k+1)
	for i := (len(series) - 1) % k; i < len(series); i += k {
		out = append(out, series[i])
	}
	return out
}
