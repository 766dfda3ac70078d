package harness

import (
	"context"
	"errors"
	"sync"
	"time"
)

// settleWatch gathers, from the ramp's start until every node settled,
// the figures that say why the settle takes what it takes: CPU run and
// runqueue wait per process, each node's publish-to-acknowledgement
// times, the backlog timeline.
type settleWatch struct {
	nodes    []*clusterNode
	cpu      *cpuShares
	backlog  *backlogSampler
	start    []nodeReading
	rampEnd  []nodeReading
	problems []string
	once     sync.Once
}

func startSettleWatch(ctx context.Context, nodes []*clusterNode, fleets []multiFleet) *settleWatch {
	var loadPIDs []int
	for _, f := range fleets {
		loadPIDs = append(loadPIDs, f.PIDs()...)
	}
	w := &settleWatch{nodes: nodes}
	var err error
	if w.start, err = readNodes(ctx, nodes); err != nil {
		w.problems = append(w.problems, "publish-to-ack at the ramp's start: "+err.Error())
	}
	w.cpu = startCPUShares(nodes, loadPIDs)
	w.backlog = startBacklog(ctx, nodes, w.start)
	return w
}

func (w *settleWatch) rampEnded(ctx context.Context) {
	w.backlog.rampEnded()
	var err error
	if w.rampEnd, err = readNodes(ctx, w.nodes); err != nil {
		w.problems = append(w.problems, "publish-to-ack at the ramp's end: "+err.Error())
	}
}

// finish writes the figures into res, once; a run that ended early gets
// what was gathered.
func (w *settleWatch) finish(res *ClusterResult) {
	w.once.Do(func() {
		res.CPU = w.cpu.done()
		points, problem := w.backlog.finish()
		res.Backlog = points
		if problem != "" {
			w.problems = append(w.problems, problem)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		end, err := readNodes(ctx, w.nodes)
		if err != nil {
			w.problems = append(w.problems, "publish-to-ack at the settle's end: "+err.Error())
		}
		for i := range res.Nodes {
			if i < len(w.rampEnd) && i < len(w.start) {
				res.Nodes[i].AckRamp = ackLatency(w.start[i].ack, w.rampEnd[i].ack)
				if i < len(end) {
					res.Nodes[i].AckSettle = ackLatency(w.rampEnd[i].ack, end[i].ack)
				}
			}
		}
		res.Problems = append(res.Problems, w.problems...)
	})
}

// reniceLoad runs every load process at nice n.
func reniceLoad(fleets []multiFleet, n int) error {
	var pids []int
	for _, f := range fleets {
		pids = append(pids, f.PIDs()...)
	}
	if len(pids) == 0 {
		return errors.New("cluster: --load-nice needs load processes (not --in-process-load)")
	}
	return reniceAll(pids, n)
}
