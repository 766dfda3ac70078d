package harness

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Target is one goal of targets.json, judged on a report.
type Target struct {
	Goal    string
	Reached string // "yes", "no" or "n/a"
	Figures string
	Why     string // a missed target's reason, from the run's data (why.go)
}

// Targets judges the report against the project's performance goals
// (targets.json); the figures say what was measured and how.
func (rep *Report) Targets() []Target {
	var l targetList
	if c := rep.Results[KindCliser]; c != nil {
		rep.cliserTargets(&l, c)
	}
	l.out = append(l.out, rep.floorTargets()...)
	l.parseAllocsTarget(rep.Micro)
	return l.out
}

// parseAllocs finds "N allocs/op" on a benchmark's line.
func parseAllocs(micro, name string) (int, bool) {
	for line := range strings.Lines(micro) {
		if !strings.HasPrefix(line, name) {
			continue
		}
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			if f[i] == "allocs/op" {
				var n int
				if _, err := fmt.Sscan(f[i-1], &n); err == nil {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// Markdown writes the readable report.
func (rep *Report) Markdown(w io.Writer) error {
	var b bytes.Buffer
	rep.headerMarkdown(&b)
	b.WriteString("## Targets\n\n| target | reached | figures |\n| --- | --- | --- |\n")
	targets := rep.Targets()
	for _, t := range targets {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Goal, t.Reached, t.Figures)
	}
	rep.whyMarkdown(&b, targets)

	b.WriteString("\n## cliser against the floor and the baseline\n\n")
	rep.comparison(&b)
	rep.burstRoundsMarkdown(&b)
	rep.holdRoundsMarkdown(&b)

	if fails := rep.Failed(); len(fails) > 0 {
		b.WriteString("\n## Errors and problems\n\n")
		for _, f := range fails {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	} else {
		b.WriteString("\nNo errors: every connection, keep-alive, probe and shutdown went as the protocol says.\n")
	}
	rep.plateausMarkdown(&b)
	b.WriteString("\n" + methodText)
	rep.appendixMarkdown(&b)
	_, err := w.Write(b.Bytes())
	return err
}

// headerMarkdown is the report's title, machine, settings and chart.
func (rep *Report) headerMarkdown(b *bytes.Buffer) {
	s := rep.Settings
	fmt.Fprintf(b, "# cliser benchmark, %s (%s mode)\n\n", rep.Date.UTC().Format("2006-01-02 15:04 UTC"), s.Mode)
	fmt.Fprintf(b, "Machine: %s, %d cores, %d GiB, Linux %s, open files %s; the harness ran at nice %d. %s. Commit %s. Run time %.0fs.\n\n",
		rep.Machine.CPU, rep.Machine.Cores, rep.Machine.MemoryGiB, rep.Machine.Kernel, rep.Machine.OpenFiles, rep.Machine.Nice, rep.GoVersion, orDash(rep.Commit), rep.Seconds)
	fmt.Fprintf(b, "Settings: stages %v clients; ramp rate %s, %d handshakes in flight per load process; keep-alive every %s (timeout %s); plateaus settle %s; idle hold %s; probe phase %s with %d probes; ≤ %d clients per load process, %d source addresses each, %s transport. Servers and load share the machine's cores over loopback.\n\n",
		s.Stages, rateStr(s.Rate), s.Concurrency, s.KeepAlive, s.KeepAliveTimeout, s.Settle, s.Hold, s.ProbeHold, s.Probes, s.PerWorker, s.SourceIPs, s.Transport)
	if rep.Chart != "" {
		fmt.Fprintf(b, "![RSS against registered clients; keep-alive RTT percentiles](%s)\n\n", rep.Chart)
	}
}

// plateausMarkdown is the table of every server's plateaus.
func (rep *Report) plateausMarkdown(b *bytes.Buffer) {
	b.WriteString("\n## Plateaus\n\n| server | clients | registered | ramp | handshakes/s | server CPU in ramp | load CPU in ramp | plateau CPU | RSS | threads |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, k := range rep.kinds() {
		for _, st := range rep.Results[k].Stages {
			fmt.Fprintf(b, "| %s | %d | %d | %.2fs | %.0f | %.2fs | %.2fs | %.1f%% | %s | %d |\n", k, st.Target, st.Registered,
				st.RampSeconds, float64(st.Handshakes)/st.RampSeconds, st.RampCPU, st.RampLoadCPU, st.IdleCPU, mib(st.RSS), st.Threads)
		}
	}
}

// appendixMarkdown is the micro-benchmarks' output and the profiles'
// tops, where the run has them.
func (rep *Report) appendixMarkdown(b *bytes.Buffer) {
	if rep.Micro != "" {
		b.WriteString("\n## Micro-benchmarks (codec and registry hot paths)\n\n```\n" + strings.TrimSpace(rep.Micro) + "\n```\n")
	}
	if len(rep.ProfileTop) == 0 {
		return
	}
	b.WriteString("\n## CPU profile of the in-process cliser server\n\n")
	names := make([]string, 0, len(rep.ProfileTop))
	for n := range rep.ProfileTop {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(b, "### %s\n\n```\n%s\n```\n\n", n, strings.TrimSpace(rep.ProfileTop[n]))
	}
}

// subprocessOnly hides a memory figure of the in-process server: its RSS
// is the harness's too, and a second in-process run inherits the first's heap.
func subprocessOnly(r *Result, v float64) float64 {
	if strings.HasPrefix(r.Server, KindInproc) {
		return math.NaN()
	}
	return v
}

func perHandshake(cpu float64, n int64) float64 {
	if n == 0 {
		return math.NaN()
	}
	return cpu * 1e6 / float64(n)
}

func serverRTTOf(r *Result, f func(Percentiles) float64) float64 {
	if r.ServerRTT == nil {
		return math.NaN()
	}
	return f(*r.ServerRTT)
}

func num(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case unit == "B":
		return bytesStr(v)
	case unit == "MiB":
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case unit == "ms":
		if v < 0 {
			return "–"
		}
		return fmt.Sprintf("%.3f ms", v)
	case unit == "%":
		return fmt.Sprintf("%.1f%%", v)
	case unit == "µs":
		return fmt.Sprintf("%.1f µs", v)
	case unit == "cycles":
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) || a < 0 || b < 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func bytesStr(v float64) string {
	if math.Abs(v) >= 1024 {
		return fmt.Sprintf("%.2f KiB", v/1024)
	}
	return fmt.Sprintf("%.0f B", v)
}

func rateStr(r float64) string {
	if r <= 0 {
		return "as fast as the load goes"
	}
	return fmt.Sprintf("%.0f/s", r)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

const methodText = `## How each figure is measured

- **Servers** run as subprocesses (` + "`bin/cliser serve`" + ` with ` + "`--log-level warn`" + `, as the baseline logs nothing per connection; ` + "`bin/baseline-bench-server`" + `, the design-note baseline plus a SIGUSR1 shutdown trigger; ` + "`bin/floor-server`" + `, the floor: bare gnet with cliser's engine settings doing only the prompts, the two answers, ` + "`140 connected 1`" + ` and the keep-alives — no registry, logs, store or metrics — with the same trigger). RSS is VmRSS from /proc/PID/status; CPU is the sum over the server's threads of /proc/PID/task/*/schedstat (nanoseconds).
- **Load**: separate load processes (at most 20000 open files each, like the server), each dialling from its own 127.x.y.z addresses; the epoll transport serves every client of a process on its loop (a read and a write per keep-alive), a connect is a blocking loopback syscall followed by the pipelined handshake (` + "`110 <pw>` and `120 <id>`" + ` in one write); keep-alives are echoed at once, ` + "`130 shutdown`" + ` answered with ` + "`130 ok`" + `. Every line the protocol does not allow, every 190 and every lost connection is counted as an error by kind.
- **RSS per client**: the least-squares slope of RSS against registered clients over the plateaus from the first of ≥ 2000 clients to the top, each read after the plateau settled (the two end points alone are given too).
- **Handshakes, bursts**: after the shutdown has emptied the server, a few rounds of a fleet of its own opening the burst's clients as fast as the load goes, then closing them; a round lasts less than a keep-alive interval, so no keep-alive falls due in it and nothing is subtracted (and running last keeps the heap the bursts grow out of the RSS figures). The subprocess servers stay up, emptied (and stopped, SIGSTOP, while another server is measured), until every one has run its stages, hold, probes and shutdown; then each round bursts every one of them once, seconds apart, the order rotated a server every two rounds and reversed every other round, so that the machine's drift over minutes falls on every server alike and each pair runs in both orders alike (the in-process server's rounds run in a row, after the others stopped). Each burst dials from addresses of its own (none meets an earlier burst's closed sockets), waits for room in the kernel's connection tracking, and after its closes waits until the server is settled: back at its idle rate, none of the burst's sockets open, none of its writes owed (at most 3 s). Handshakes ÷ wall time, and ÷ the server's CPU during the rounds, summed over the rounds; the burst CPU targets are judged on the median over rounds of each round's ratio, with a 95% interval for that median beside it (order statistics: the k-th smallest and largest round's ratio; from six rounds) (table "Burst rounds, interleaved"). **Stages**: the same over the stages' ramps, less the idle keep-alive CPU of the clients already connected (the previous plateau's rate × the ramp's duration). Latency: connect start to ` + "`140 connected`" + ` at the client.
- **Keep-alive RTT, probe method (the same for both servers)**: a keep-alive's round trip is seen only by the server, and the baseline has no hook for it. A few clients (probes) answer a keep-alive with the echo and at once a second identical echo; every conforming server processes the echo and answers the duplicate with ` + "`190 protocol error`" + `. Time from the probe receiving ` + "`100 <token>`" + ` to it receiving the 190 = the server's turnaround on the keep-alive path plus two loopback hops. The probe then reconnects and measures again, about once a keep-alive interval (~Probes samples a second). The probes' keep-alives are spread over the interval, so that a window's samples stand for every moment of the keep-alive cycle rather than the one or two at which probes ramped together would all measure: each probe has a slot of its own in the interval (client numbers times the golden ratio, on the Unix clock), moves to it at its first keep-alive, and after a measurement reconnects at once while within a tenth of an interval past it, else at its next slot moment (the JSON's ` + "`probe_phases`" + ` count the samples by twentieth of the interval). The main table's figures are the probe phase's (one window a server, minutes from the others'); the "within 10% of off" probe targets are judged, when the run held rounds, on the median over the hold rounds of each round's ratio, with its 95% interval (as the server-clock RTT's): each round of cliser and its variants ends with a probe window after its hold (not during it: the probes' reconnects, ~Probes handshakes a second, would count in the hold's idle CPU), the same probes probing, and a round's p99 is read only from 100 samples or more (below, it is the round's maximum).
- **Keep-alive RTT, server clock (cliser only)**: the reactor's Observer.KeepAliveRTT (send of ` + "`100`" + ` to processing of the echo); exact in the in-process run (HdrHistogram), bucketed in ` + "`/metrics`" + ` for the subprocess run.
- **Keep-alive gap**: time between two keep-alives on one connection as the client sees it, over the idle hold.
- **Idle CPU**: server CPU during the idle hold at the top ÷ its duration (100% = one core).
- **Shutdown**: from just before the harness orders it (` + "`POST /v1/shutdown`" + ` for cliser, SIGUSR1 for the baseline) to the last client writing ` + "`130 ok`" + ` and to the server closing the last connection, all clocks being this machine's.
`
