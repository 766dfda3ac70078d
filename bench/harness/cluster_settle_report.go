package harness

import (
	"fmt"
	"math"
	"runtime"
	"strings"
)

// backlogRows bounds the timeline table: a slow settle keeps every k-th
// point (and the last).
const backlogRows = 48

// niceHeader is the report's warning for a diagnostic run.
func niceHeader(b *strings.Builder, s ClusterSettings) {
	if s.LoadNice == 0 {
		return
	}
	fmt.Fprintf(b, "**Diagnostic run: the load processes ran at nice %d** (`--load-nice %d`); "+
		"the default run leaves them at the harness's priority, and its figures are the ones to compare.\n\n", s.LoadNice, s.LoadNice)
}

// settleMarkdown writes who ran and who waited over ramp and settle, the
// nodes' publish-to-acknowledgement times and the backlog timeline.
func settleMarkdown(b *strings.Builder, r *ClusterResult) {
	c := r.CPU
	if c.Span <= 0 {
		return
	}
	span := c.Span.Seconds()
	fmt.Fprintf(b, "## Why the settle takes what it takes\n\n"+
		"From the ramp's start until every node settled (%.2f s; %d cores give %.2f s of CPU), "+
		"per process the time its threads ran on a CPU and the time they waited in a runqueue, ready with no CPU free "+
		"(`/proc/PID/task/*/schedstat`):\n\n", span, runtime.NumCPU(), span*float64(runtime.NumCPU()))
	b.WriteString("| process | ran | waited for a CPU | waited per second run | cores used |\n| --- | --- | --- | --- | --- |\n")
	row := func(name string, t SchedTime) {
		per := "–"
		if t.Run > 0 {
			per = fmt.Sprintf("%.2f s", t.Wait.Seconds()/t.Run.Seconds())
		}
		fmt.Fprintf(b, "| %s | %.2f s | %.2f s | %s | %.2f |\n", name, t.Run.Seconds(), t.Wait.Seconds(), per, t.Run.Seconds()/span)
	}
	total := c.NATS.Add(c.Load)
	if r.Workers > 0 {
		row("nats-server (the harness process)", c.NATS)
	} else {
		row("the harness process (nats-server and the in-process load)", c.NATS)
	}
	for i, t := range c.Nodes {
		row(nodeID(r, i), t)
		total = total.Add(t)
	}
	row(fmt.Sprintf("load (%d processes)", r.Workers), c.Load)
	row("all of these", total)
	b.WriteString("\nEach node's bucket writes (one per slot written; one per record before the slot layout), from the asynchronous publish until the acknowledgement was taken " +
		"(`cliser_cluster_publish_ack_seconds`, read before and after; bucket upper bounds):\n\n" +
		"| node | ramp: writes | ramp p50 / p99 | settle: writes | settle p50 / p99 |\n| --- | --- | --- | --- | --- |\n")
	for _, n := range r.Nodes {
		fmt.Fprintf(b, "| %s | %.0f | %s / %s | %.0f | %s / %s |\n", n.ID,
			n.AckRamp.Count, secs(n.AckRamp.P50), secs(n.AckRamp.P99), n.AckSettle.Count, secs(n.AckSettle.P50), secs(n.AckSettle.P99))
	}
	backlogMarkdown(b, r)
}

func secs(s float64) string {
	switch {
	case s == 0:
		return "–"
	case s < 0:
		return "> 4 s"
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

// backlogMarkdown writes the timeline: every node's unwritten records
// (pending in its registry, in flight to NATS) and what the mirrors show.
func backlogMarkdown(b *strings.Builder, r *ClusterResult) {
	pts := r.Backlog
	if len(pts) == 0 {
		return
	}
	want := r.Handshakes * int64(len(r.Nodes))
	fmt.Fprintf(b, "\nThe backlog every %v, summed over the nodes: records not yet written (`cliser_registry_pending_writes`, "+
		"which counts a flush's whole batch until it ends), publishes in flight, bucket writes acknowledged since the ramp's start "+
		"and at what rate since the row before, and the connected clients every node's mirror shows (settled at %d = %d nodes × %d):\n\n",
		backlogEvery, want, len(r.Nodes), r.Handshakes)
	b.WriteString("| t | phase | unwritten | in flight | written | written /s | mirrors show |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	step := (len(pts) + backlogRows - 1) / backlogRows
	var prev *BacklogPoint
	for i := range pts {
		p := &pts[i]
		if i%step != 0 && i != len(pts)-1 {
			continue
		}
		rate := "–"
		if prev != nil && p.At > prev.At {
			rate = fmt.Sprintf("%.0f", float64(p.Written-prev.Written)/(p.At-prev.At).Seconds())
		}
		phase := "settle"
		if p.Ramping {
			phase = "ramp"
		}
		fmt.Fprintf(b, "| %.2f s | %s | %d | %d | %d | %s | %d |\n", p.At.Seconds(), phase, p.Unwritten, p.InFlight, p.Written, rate, p.Mirrored)
		prev = p
	}
	if d := drainRate(pts); !math.IsNaN(d) && d > 0 {
		fmt.Fprintf(b, "\nAfter the ramp the nodes wrote %.0f records/s (from the first settle row to the first with nothing left to write).\n", d)
	} else {
		b.WriteString("\nNothing was left to write after the ramp's first settle row.\n")
	}
	b.WriteString("\n")
}
