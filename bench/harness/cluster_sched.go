package harness

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// ClusterCPU is who ran and who waited for a CPU from the ramp's start
// until every node settled: the harness process (the embedded
// nats-server; the harness only polls meanwhile), each node, and the load
// processes together. A settle bound by CPU shares shows as the server's
// runqueue wait beside its run time.
type ClusterCPU struct {
	Span  time.Duration `json:"span"`
	NATS  SchedTime     `json:"nats_server"`
	Nodes []SchedTime   `json:"nodes"`
	Load  SchedTime     `json:"load"`
}

// cpuShares is the schedstat reading at the start of the span.
type cpuShares struct {
	t0       time.Time
	nodePIDs []int
	loadPIDs []int
	nats     SchedTime
	nodes    []SchedTime
	load     SchedTime
}

func startCPUShares(nodes []*clusterNode, loadPIDs []int) *cpuShares {
	c := &cpuShares{loadPIDs: loadPIDs}
	for _, n := range nodes {
		c.nodePIDs = append(c.nodePIDs, n.PID())
	}
	c.nats, c.nodes, c.load = c.read()
	c.t0 = time.Now()
	return c
}

func (c *cpuShares) read() (nats SchedTime, nodes []SchedTime, load SchedTime) {
	nats, _ = schedOf("self")
	for _, pid := range c.nodePIDs {
		nodes = append(nodes, schedOfPIDs([]int{pid}))
	}
	return nats, nodes, schedOfPIDs(c.loadPIDs)
}

// done is the span's run and wait per process.
func (c *cpuShares) done() ClusterCPU {
	nats, nodes, load := c.read()
	r := ClusterCPU{Span: time.Since(c.t0), NATS: nats.Sub(c.nats), Load: load.Sub(c.load)}
	for i, n := range nodes {
		r.Nodes = append(r.Nodes, n.Sub(c.nodes[i]))
	}
	return r
}

// reniceAll lowers every thread of the processes to nice n. Linux keeps
// the nice value per thread and a new thread takes its creator's, so
// setting each live thread covers the threads the Go runtime starts later.
// Raising the nice value needs no privilege.
func reniceAll(pids []int, n int) error {
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/task", pid)
		tids, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("renice %d: %w", pid, err)
		}
		for _, t := range tids {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
				return fmt.Errorf("renice thread %d of %d to %d: %w", tid, pid, n, err)
			}
		}
	}
	return nil
}
