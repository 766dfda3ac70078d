package main

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ms is seconds s as milliseconds, to three digits.
func ms(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	if math.IsInf(s, 1) {
		return "> 10 s"
	}
	if s >= 0.1 {
		return strconv.FormatFloat(s*1000, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(s*1000, 'g', 3, 64) + " ms"
}

func replayReport(rs []replayRound, f *replayFlags) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Keep-alives while event streams replay the log, %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "`cliser-bench replay --clients %d --streams %d --events %d --window %v --rounds %d`", f.clients, f.streams, f.events, f.window, f.rounds)
	if f.beforeBin != "" {
		b.WriteString(" with `--before-bin`")
	}
	b.WriteString(": each round's `cliser serve` (keep-alive 1 s) holds the clients with ")
	fmt.Fprintf(&b, "%d events in its log; the server's keep-alive RTT (its own histogram, bucket upper bounds) ", f.events)
	fmt.Fprintf(&b, "over a quiet window, then over one in which the streams read the log from seq 0 over and over. ")
	fmt.Fprintf(&b, "Server, clients and streams share the machine's %d cores.\n\n", runtime.NumCPU())
	tableHead(&b, "mode", "round", "events", "quiet p99", "quiet p999", "replaying p99", "replaying p999", "keep-alives (quiet, replaying)", "events replayed", "replaying wall", "server CPU (quiet, replaying)", "server CPU per event replayed")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %.0f, %.0f | %d | %v | %v, %v | %v |\n", r.Mode, r.Round, r.Events,
			ms(r.QuietP99), ms(r.QuietP999), ms(r.ReplayP99), ms(r.ReplayP999), r.QuietN, r.ReplayN, r.Replayed,
			r.ReplayWall.Round(time.Millisecond), r.QuietCPU.Round(time.Millisecond), r.ReplayCPU.Round(time.Millisecond), perEvent(r))
	}
	b.WriteString("\n")
	tableHead(&b, "mode", "median quiet p99", "median replaying p99", "replaying ÷ quiet", "median events replayed a second", "median server CPU per event replayed")
	for _, mode := range []string{"this", "before"} {
		med := func(v func(replayRound) float64) float64 {
			return medianOf(rs, func(r replayRound) string { return r.Mode }, mode, v)
		}
		q, p := med(func(r replayRound) float64 { return r.QuietP99 }), med(func(r replayRound) float64 { return r.ReplayP99 })
		if math.IsNaN(q) {
			continue
		}
		rate := med(func(r replayRound) float64 { return float64(r.Replayed) / r.ReplayWall.Seconds() })
		cpu := time.Duration(med(func(r replayRound) float64 { return float64(perEvent(r)) }))
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f× | %.0f | %v |\n", mode, ms(q), ms(p), p/q, rate, cpu)
	}
	return b.String()
}

// perEvent is the server's CPU per event replayed (the streams' reading
// and writing, and the keep-alives beside them).
func perEvent(r replayRound) time.Duration {
	if r.Replayed == 0 {
		return 0
	}
	return r.ReplayCPU / time.Duration(r.Replayed)
}
