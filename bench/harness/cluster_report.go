package harness

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"
)

// WriteJSON writes the result as indented JSON.
func (r *ClusterResult) WriteJSON(w io.Writer) error { return WriteJSON(w, r) }

func ms(us int64) string { return fmt.Sprintf("%.1f ms", float64(us)/1000) }

// Markdown writes the cluster report.
func (r *ClusterResult) Markdown(w io.Writer) error {
	s := r.Settings
	var b strings.Builder
	fmt.Fprintf(&b, "# cliser cluster benchmark — %s\n\n", r.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "%d `cliser serve --cluster` nodes on one embedded nats-server (JetStream, file store, "+
		"replicas 1), all on this machine; %d clients per node (%d in all) from %d load processes; "+
		"keep-alive %v; %d cores, load average at the start %s. Command: `cliser-bench cluster --clients-per-node %d`.\n\n",
		s.Nodes, s.PerNode, r.Clients, r.Workers, s.Load.KeepAlive, runtime.NumCPU(), r.LoadAvg, s.PerNode)
	niceHeader(&b, s)
	r.figuresMarkdown(&b)
	r.nodesMarkdown(&b)
	settleMarkdown(&b, r)
	clusterMethodMarkdown(&b, s)
	r.problemsMarkdown(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// figuresMarkdown is the table of the run's figures.
func (r *ClusterResult) figuresMarkdown(b *strings.Builder) {
	b.WriteString("| figure | value |\n| --- | --- |\n")
	fmt.Fprintf(b, "| clients registered | %d of %d |\n", r.Handshakes, r.Clients)
	fmt.Fprintf(b, "| registration rate, every node at once (wall clock) | **%.0f /s** (%v) |\n", r.RegistrationRate, r.RampWall.Round(time.Millisecond))
	fmt.Fprintf(b, "| handshake (connect → 140) p50 / p99 | %s / %s |\n", ms(r.Handshake.P50), ms(r.Handshake.P99))
	fmt.Fprintf(b, "| ramp end → every node's mirror shows all %d connected | %v |\n", r.Handshakes, r.MirrorSettle.Round(time.Millisecond))
	fmt.Fprintf(b, "| nats-server, ramp start → settled: messages in / out per registration, CPU per registration | %.2f / %.2f, %.1f µs (%.2f s in all) |\n",
		r.NATS.InPerReg, r.NATS.OutPerReg, r.NATS.CPUPerRegUS, r.NATS.CPU.Seconds())
	fmt.Fprintf(b, "| visible on every node (140 → GET 200 cstatus true on all) p50 / p99 / max | **%s / %s** / %s (%d samples, %d timed out) |\n",
		ms(r.Visibility.P50), ms(r.Visibility.P99), ms(r.Visibility.Max), r.Visibility.Count, r.VisibilityLost)
	fmt.Fprintf(b, "| visible on the holding node p50 / p99 | %s / %s |\n", ms(r.VisibilityLocal.P50), ms(r.VisibilityLocal.P99))
	fmt.Fprintf(b, "| command routing (POST kick on %s → client on %s reads `190 kicked`) p50 / p99 / max | **%s / %s** / %s (%d samples, %d failed) |\n",
		nodeID(r, 0), nodeID(r, len(r.Nodes)-1), ms(r.Routing.P50), ms(r.Routing.P99), ms(r.Routing.Max), r.Routing.Count, r.RoutingLost)
	fmt.Fprintf(b, "| the POST's 202 p50 / p99 | %s / %s |\n\n", ms(r.RoutingAnswer.P50), ms(r.RoutingAnswer.P99))
}

// nodesMarkdown is the table of each node's clients and memory.
func (r *ClusterResult) nodesMarkdown(b *strings.Builder) {
	b.WriteString("| node | load clients held | RSS | RSS per client | threads |\n| --- | --- | --- | --- | --- |\n")
	for _, n := range r.Nodes {
		per := "–"
		if n.Registered > 0 {
			per = fmt.Sprintf("%.0f B", float64(n.RSS)/float64(n.Registered))
		}
		fmt.Fprintf(b, "| %s | %d | %.1f MiB | %s | %d |\n", n.ID, n.Registered, float64(n.RSS)/(1<<20), per, n.Threads)
	}
	b.WriteString("\nRSS per client is the node's whole RSS over its clients: it includes the runtime " +
		"and the node's mirror of every record in the cluster (all nodes' clients), so it is above a single node's figure.\n\n")
}

// clusterMethodMarkdown says how each figure is measured.
func clusterMethodMarkdown(b *strings.Builder, s ClusterSettings) {
	b.WriteString("## What is measured\n\n" +
		"- **Registration rate**: every node's load ramps at once as fast as the load processes go; " +
		"clients that reached `140 connected`, over the wall clock from the first connect to the last 140.\n" +
		"- **Mirror settle**: from the ramp's end until `cliser_cluster_clients_connected` on every node's /metrics " +
		"reads every load client (the ramp's backlog written to the bucket and seen by every node's watch). The samples below start after it.\n" +
		fmt.Sprintf("- **Visibility**: %d fresh clients, round-robin over the nodes, %d at a time, registered by the harness itself; "+
			"from the moment it reads `140 connected` until `GET /v1/clients/{cid}` answers 200 with `cstatus: true` "+
			"on every node's admin API, each node polled every %v (so figures are rounded up by up to the poll and an HTTP round trip). "+
			"A node writes its clients to the bucket behind the hot path, every 50 ms in cluster mode, so about half of that is the wait in the p50; the holding node, polled first, answers from its own registry.\n",
			s.VisibilitySamples, visibilityParallel, s.Poll) +
		fmt.Sprintf("- **Routing**: %d clients held by the harness on the last node; once the first node's API shows each connected, "+
			"`POST /v1/clients/{cid}/kick` goes to the first node, one at a time, and the time runs until that client reads `190 kicked` "+
			"(NATS request/reply to the holding node, its kick, the 190 on the wire).\n", s.RoutingSamples) +
		"- **RSS**: `/proc/PID/status` VmRSS of each node after the samples, load still connected.\n")
}

// problemsMarkdown lists the run's errors by kind and its problems.
func (r *ClusterResult) problemsMarkdown(b *strings.Builder) {
	if len(r.Errors) > 0 || len(r.Problems) > 0 {
		b.WriteString("\n## Problems\n\n")
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(b, "- %d × %s\n", r.Errors[k], k)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(b, "- %s\n", p)
		}
	}
}

func nodeID(r *ClusterResult, i int) string {
	if i < 0 || i >= len(r.Nodes) {
		return "?"
	}
	return r.Nodes[i].ID
}
