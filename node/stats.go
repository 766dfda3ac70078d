package node

import (
	"context"
	"encoding/json"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
)

// clusterNodes gives GET /v1/stats every node's figures (admin.Nodes): the
// cluster carries them between nodes as the admin API's own JSON.
type clusterNodes struct{ node *cluster.Node }

func (c clusterNodes) Serve(own func() admin.NodeStats) error {
	return c.node.ServeStats(func() []byte { return marshalNodeStats(own()) })
}

func (c clusterNodes) Gather(ctx context.Context, own func() admin.NodeStats) []admin.NodeStats {
	reports := c.node.GatherStats(ctx, func() []byte { return marshalNodeStats(own()) })
	out := make([]admin.NodeStats, 0, len(reports))
	for _, r := range reports {
		out = append(out, nodeStatsOf(r))
	}
	return out
}

func marshalNodeStats(s admin.NodeStats) []byte {
	b, _ := json.Marshal(s) // plain fields: cannot fail
	return b
}

// nodeStatsOf is one node's line: its own figures when it answered, the
// bucket's counts otherwise. A node not asked because NATS is away (Err
// set, liveness unknown) is unreachable, not down.
func nodeStatsOf(r cluster.NodeReport) admin.NodeStats {
	s := admin.NodeStats{Node: r.Node, State: admin.NodeDown,
		StatsFigures: admin.StatsFigures{Connected: r.Connected, Disconnects: map[string]int{}}}
	if r.Alive || r.Err != nil {
		s.State = admin.NodeUnreachable
	}
	if r.Err != nil {
		s.Error = r.Err.Error()
	}
	if r.Figures != nil {
		var own admin.NodeStats
		if err := json.Unmarshal(r.Figures, &own); err != nil {
			s.Error = "its figures did not decode: " + err.Error()
		} else {
			s = own
			s.Node, s.State = r.Node, admin.NodeUp
		}
	}
	if s.Disconnects == nil {
		s.Disconnects = map[string]int{}
	}
	s.Records = r.Records
	return s
}
