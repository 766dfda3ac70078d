package harness

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// comparisonRow is a line of the comparison table: a figure of each
// server, in unit (num's), then cliser's ratio to each reference.
type comparisonRow struct {
	name, unit string
	get        func(r *Result) float64
}

// comparisonRows are the comparison table's lines, in order.
var comparisonRows = []comparisonRow{
	{"RSS per idle client (slope)", "B", func(r *Result) float64 { return subprocessOnly(r, r.RSSPerClient) }},
	{"RSS at the top, idle", "MiB", func(r *Result) float64 { return subprocessOnly(r, float64(r.Idle.RSS)) }},
	{"burst: handshakes / s (wall clock)", "", func(r *Result) float64 { return burstOnly(r, r.Burst.Rate) }},
	{"burst: handshakes / s of server CPU", "", func(r *Result) float64 { return burstOnly(r, r.Burst.PerCPU) }},
	{"burst: server CPU per handshake", "µs", func(r *Result) float64 { return burstOnly(r, perCPU(r.Burst.PerCPU)) }},
	{"burst: load processes' CPU per handshake", "µs", func(r *Result) float64 { return perHandshake(r.Burst.LoadCPU, r.Burst.Handshakes) }},
	{"burst: handshake latency p99", "ms", func(r *Result) float64 { return burstOnly(r, r.Burst.Latency.P99) }},
	{"burst: server's Go allocations per handshake", "B", func(r *Result) float64 { return allocOf(r.Burst.Alloc).BytesPerHandshake }},
	{"burst: server's GC cycles per 1,000 handshakes", "cycles", func(r *Result) float64 { return allocOf(r.Burst.Alloc).GCPer1000 }},
	{"stages: handshakes / s (wall clock)", "", func(r *Result) float64 { return r.HandshakeRate }},
	{"stages: handshakes / s of server CPU", "", func(r *Result) float64 { return r.HandshakesPerCPU }},
	{"stages: server CPU per handshake", "µs", func(r *Result) float64 { return perCPU(r.HandshakesPerCPU) }},
	{"stages: server's Go allocations per handshake (settles included)", "B", func(r *Result) float64 { return allocOf(r.RampAlloc).BytesPerHandshake }},
	{"handshake latency p50", "ms", func(r *Result) float64 { return r.Handshake.P50 }},
	{"handshake latency p99", "ms", func(r *Result) float64 { return r.Handshake.P99 }},
	{"handshake latency p999", "ms", func(r *Result) float64 { return r.Handshake.P999 }},
	{"handshake latency max", "ms", func(r *Result) float64 { return r.Handshake.Max }},
	{"idle server CPU at the top", "%", func(r *Result) float64 { return r.Idle.CPUPercent }},
	{"idle server CPU per keep-alive answered", "µs", idleCPUPerKeepAlive},
	{"hold: server's Go allocations per keep-alive", "B", func(r *Result) float64 { return holdAllocOf(r.Idle.Alloc).BytesPerKeepAlive }},
	{"hold: server's GC cycles", "cycles", func(r *Result) float64 { return holdAllocOf(r.Idle.Alloc).GCCycles }},
	{"keep-alive RTT p50 (probe method)", "ms", func(r *Result) float64 { return r.ProbeRTT.P50 }},
	{"keep-alive RTT p99 (probe method)", "ms", func(r *Result) float64 { return r.ProbeRTT.P99 }},
	{"keep-alive RTT p999 (probe method)", "ms", func(r *Result) float64 { return r.ProbeRTT.P999 }},
	{"keep-alive RTT max (probe method)", "ms", func(r *Result) float64 { return r.ProbeRTT.Max }},
	{"keep-alive RTT p99 (server clock)", "ms", func(r *Result) float64 { return serverRTTOf(r, func(p Percentiles) float64 { return p.P99 }) }},
	{"keep-alive RTT p999 (server clock)", "ms", func(r *Result) float64 { return serverRTTOf(r, func(p Percentiles) float64 { return p.P999 }) }},
	{"keep-alive RTT p99 (server clock, " + rttReading + ")", "ms", func(r *Result) float64 {
		return serverRTTOf(r, func(p Percentiles) float64 { return p.ForRatio().P99 })
	}},
	{"keep-alive RTT p999 (server clock, " + rttReading + ")", "ms", func(r *Result) float64 {
		return serverRTTOf(r, func(p Percentiles) float64 { return p.ForRatio().P999 })
	}},
	{"keep-alive gap p50 (interval as clients see it)", "ms", func(r *Result) float64 { return r.KeepAliveGap.P50 }},
	{"keep-alive gap p99", "ms", func(r *Result) float64 { return r.KeepAliveGap.P99 }},
	{"shutdown: last 130 ok sent", "ms", func(r *Result) float64 { return r.Shutdown.LastAck }},
	{"shutdown: last connection closed", "ms", func(r *Result) float64 { return r.Shutdown.LastClose }},
	{"shutdown: acks", "", func(r *Result) float64 { return float64(r.Shutdown.Acked) }},
	{"errors", "", func(r *Result) float64 { return float64(sumErrors(r.Errors)) }},
	{"during the hold: load processes' CPU", "%", func(r *Result) float64 { return r.Idle.LoadCPUPercent }},
	{"during the hold: load processes' RSS", "MiB", func(r *Result) float64 { return float64(r.Idle.LoadRSS) }},
	{"during the hold: every other process's CPU", "%", func(r *Result) float64 { return r.Idle.OthersCPUPercent }},
}

// comparison writes the table of every server's figures with cliser's
// ratios to the references, then how each server-clock RTT was read.
func (rep *Report) comparison(b *bytes.Buffer) {
	kinds, refs := rep.kinds(), rep.ratioColumns()
	fmt.Fprintf(b, "| metric | %s |", strings.Join(kinds, " | "))
	for _, k := range refs {
		fmt.Fprintf(b, " cliser ÷ %s |", k)
	}
	b.WriteString("\n|" + strings.Repeat(" --- |", len(kinds)+1+len(refs)) + "\n")
	for _, row := range comparisonRows {
		rep.comparisonLine(b, row, kinds, refs)
	}
	fmt.Fprintf(b, "| load average after the hold |")
	for _, k := range kinds {
		fmt.Fprintf(b, " %s |", rep.Results[k].Idle.LoadAvg)
	}
	b.WriteString(strings.Repeat(" |", len(refs)) + "\n")
	rep.serverRTTMethods(b, kinds)
	b.WriteString("\n")
}

func (rep *Report) comparisonLine(b *bytes.Buffer, row comparisonRow, kinds, refs []string) {
	c := rep.Results[KindCliser]
	fmt.Fprintf(b, "| %s |", row.name)
	for _, k := range kinds {
		fmt.Fprintf(b, " %s |", num(row.get(rep.Results[k]), row.unit))
	}
	for _, k := range refs {
		fmt.Fprintf(b, " %s |", ratio(row.get(c), row.get(rep.Results[k])))
	}
	b.WriteString("\n")
}

// serverRTTMethods says how each server's clock read the RTT, and how a
// bucketed reading is to be read.
func (rep *Report) serverRTTMethods(b *bytes.Buffer, kinds []string) {
	bucketed := false
	for _, k := range kinds {
		if r := rep.Results[k]; r.ServerRTT != nil {
			fmt.Fprintf(b, "\nServer-clock RTT of %s: %s.", k, r.ServerRTTMethod)
			if r.ServerRTT.UpperBound {
				bucketed = true
				b.WriteString(" Bucket upper bounds: the true value is at or below (−1: beyond the last bucket).")
			}
		}
	}
	if bucketed {
		b.WriteString("\n\n" + RTTReadingNote())
	}
}

// burstOnly is v, NaN for a server that ran no burst.
func burstOnly(r *Result, v float64) float64 {
	if r.Burst.Handshakes == 0 {
		return math.NaN()
	}
	return v
}

// allocOf is a count, NaN figures for a server that has none.
func allocOf(c *AllocCount) AllocCount {
	if c == nil {
		return AllocCount{BytesPerHandshake: math.NaN(), GCPer1000: math.NaN()}
	}
	return *c
}

// holdAllocOf is the hold's count, NaN figures for a server that has none.
func holdAllocOf(h *HoldAlloc) HoldAlloc {
	if h == nil {
		return HoldAlloc{BytesPerKeepAlive: math.NaN(), GCCycles: math.NaN()}
	}
	return *h
}
