package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cliser/cliser/bench/harness"
)

// floorRounds runs cliser, the floor, cliser+events and
// cliser+identity+events in alternating rounds of a short shape, so that
// each ratio compares runs minutes apart rather than a whole report apart:
// on a shared machine the noise between two long runs is larger than the
// differences the floor targets judge. It writes
// bench/results/<date>-floor-rounds.{md,json}.
func floorRounds(ctx context.Context, args []string) error {
	fs, c := commonFlagSet("floor")
	rounds := fs.Int("rounds", 3, "rounds; each runs every server once")
	outDir := fs.String("out-dir", "bench/results", "where the report goes")
	servers := fs.String("servers", strings.Join(floorKinds, ","), "the servers each round runs; round 1 in this order, round 2 in reverse, rounds 3 and 4 the same from one further along the list, and so on; cliser (the reference) must be one")
	set, env, cleanup, err := c.parse(fs, args)
	defer cleanup()
	if err != nil {
		return err
	}
	if *rounds < 1 {
		return fmt.Errorf("--rounds must be positive, got %d", *rounds)
	}
	if c.stages == "" { // the floor's shape: two plateaus, a hold, bursts
		set.Mode, set.Stages = "floor-rounds", []int{2000, 10000}
		set.Hold, set.ProbeHold, set.Probes, set.BurstRounds = 15*time.Second, 0, 0, 2
	}
	// A round's idle figures are its one interleaved hold's (floorHold).
	switch {
	case c.holdRounds > 1:
		return usageError{fmt.Errorf("--hold-rounds %d: a floor round holds its servers once, interleaved (0 or 1)", c.holdRounds)}
	case c.holdRounds < 0:
		set.HoldRounds, set.RoundHold = 1, set.Hold
	}
	kinds, err := floorServers(*servers)
	if err != nil {
		return err
	}
	env.RoomFor = waitForConntrack
	var all []roundResult
	for r := range *rounds {
		order := harness.RoundOrder(kinds, r)
		for _, s := range pinnedAndNot(set) {
			fmt.Fprintf(os.Stderr, "== round %d: %s%s, their bursts and hold interleaved\n", r+1, strings.Join(order, ", "), pinNote(s))
			// Each burst and hold waits for its own room (Env.RoomFor).
			waitForConntrack(fmt.Sprintf("round %d", r+1), len(order)*s.Stages[len(s.Stages)-1])
			run, err := harness.RunInterleaved(ctx, order, s, env)
			if err != nil {
				return fmt.Errorf("round %d%s: %w", r+1, pinNote(s), err)
			}
			for _, k := range order {
				rr := newRoundResult(r+1, run.Results[k])
				rr.Pinned = pinNote(s)
				all = append(all, rr)
			}
		}
	}
	start := time.Now().UTC()
	md := floorRoundsMarkdown(all, set, start)
	js := func(w io.Writer) error {
		return harness.WriteJSON(w, map[string]any{"settings": set, "rounds": jsonRounds(all), "go": runtime.Version()})
	}
	_, err = writeReport(*outDir, start.Format("2006-01-02")+"-floor-rounds", js,
		func(w io.Writer) error { _, err := io.WriteString(w, md); return err })
	return err
}

// floorKinds are the servers a round runs by default: cliser with
// everything optional off (the reference), the floor, and cliser with the
// event log and webhook on, without and with a credential per client.
var floorKinds = []string{harness.KindCliser, harness.KindFloor, harness.KindCliserEvents, harness.KindCliserTrust}

// floorServers parses --servers.
func floorServers(list string) ([]string, error) {
	kinds := strings.Split(list, ",")
	for _, k := range kinds {
		if !slices.Contains(floorKinds, k) {
			return nil, fmt.Errorf("--servers: %q is not one of %s", k, strings.Join(floorKinds, ", "))
		}
	}
	if !slices.Contains(kinds, harness.KindCliser) {
		return nil, fmt.Errorf("--servers must include %s, the reference of every ratio", harness.KindCliser)
	}
	return kinds, nil
}

// jsonRounds has a round without bursts say null, not NaN (JSON has none:
// encoding it failed and the report was lost).
func jsonRounds(all []roundResult) []map[string]any {
	out := make([]map[string]any, len(all))
	for i, r := range all {
		var hs any
		if !math.IsNaN(r.HandshakeUS) {
			hs = r.HandshakeUS
		}
		out[i] = map[string]any{"round": r.Round, "server": r.Server, "burst_cpu_us_per_handshake": hs,
			"rss_bytes_per_client": r.RSSPerClient, "idle_cpu_percent": r.IdleCPU, "idle_clients": r.IdleClients,
			"others_cpu_percent": r.OthersCPU, "errors": r.Errors, "server_rtt_ms": r.RTT, "idle_from": r.IdleFrom,
			"start_rss_bytes": r.StartRSS, "credentials": r.Credentials, "credential_resident_bytes": r.CredentialBytes, "pinned": r.Pinned,
			"server_runqueue_wait_percent": r.ServerWait, "load_runqueue_wait_percent": r.LoadWait,
			"burst_alloc": r.BurstAlloc, "stages_alloc": r.StagesAlloc, "hold_alloc": r.HoldAlloc,
			"burst_rounds_cpu_us": r.BurstRoundsUS, "burst_rounds": r.BurstRounds}
	}
	return out
}

type roundResult struct {
	Round        int     `json:"round"`
	Server       string  `json:"server"`
	HandshakeUS  float64 `json:"burst_cpu_us_per_handshake"`
	RSSPerClient float64 `json:"rss_bytes_per_client"`
	IdleCPU      float64 `json:"idle_cpu_percent"`
	IdleClients  int64   `json:"idle_clients"`
	OthersCPU    float64 `json:"others_cpu_percent"`
	Errors       int64   `json:"errors"`
	// IdleFrom names the hold IdleCPU, IdleClients, OthersCPU, RTT and
	// the waits are from (floorHold); HoldAlloc is the stage hold's.
	IdleFrom string `json:"idle_from"`
	// RTT is the hold's server-clock keep-alive RTT, read from the
	// server's histogram (the bucket upper bounds), nil when the server
	// keeps none.
	RTT *harness.Percentiles `json:"server_rtt_ms"`
	// StartRSS is the RSS before any client; Credentials the client IDs
	// enrolled (cliser+identity+events).
	StartRSS    int64 `json:"start_rss_bytes"`
	Credentials int   `json:"credentials"`
	// CredentialBytes is the server's own count of its credentials'
	// resident bytes at the top plateau (harness.CredentialMemory).
	CredentialBytes int64 `json:"credential_resident_bytes"`
	// Pinned says where a pinned run's server and load ran ("" for the
	// unpinned run, which every ratio compares).
	Pinned string `json:"pinned,omitempty"`
	// ServerWait and LoadWait are the hold's runqueue wait in % (Idle).
	ServerWait float64 `json:"server_runqueue_wait_percent"`
	LoadWait   float64 `json:"load_runqueue_wait_percent"`
	// BurstAlloc and StagesAlloc are the server's Go allocations and GC
	// cycles over the bursts and the stages (nil: no Go collector).
	BurstAlloc  *harness.AllocCount `json:"burst_alloc"`
	StagesAlloc *harness.AllocCount `json:"stages_alloc"`
	// HoldAlloc is the same over the hold (nil: no Go collector).
	HoldAlloc *harness.HoldAlloc `json:"hold_alloc"`
	// BurstRoundsUS is each of its bursts' CPU a handshake, in the order
	// the round's interleaved bursts ran.
	BurstRoundsUS []float64 `json:"burst_rounds_cpu_us"`
	// BurstRounds are those bursts whole, their counters with them.
	BurstRounds []harness.BurstRound `json:"burst_rounds"`
}

// floorHold is the hold a floor round's idle figures come from: its
// interleaved hold (RunInterleaved's one hold round), seconds from the
// other servers', else the stage hold, minutes from them.
func floorHold(r *harness.Result) (idle harness.Idle, rtt *harness.Percentiles, from string) {
	if len(r.HoldRounds) > 0 {
		return r.HoldRounds[0].Idle, r.HoldRounds[0].ServerRTT, "interleaved hold"
	}
	return r.Idle, r.ServerRTT, "stage hold"
}

func newRoundResult(round int, r *harness.Result) roundResult {
	idle, rtt, from := floorHold(r)
	rr := roundResult{Round: round, Server: r.Server, RSSPerClient: r.RSSPerClient, IdleCPU: idle.CPUPercent,
		IdleClients: idle.Clients, OthersCPU: idle.OthersCPUPercent, HandshakeUS: math.NaN(), RTT: rtt, IdleFrom: from,
		StartRSS: r.StartRSS, Credentials: r.Credentials, CredentialBytes: r.CredentialBytes, ServerWait: idle.ServerWaitPercent, LoadWait: idle.LoadWaitPercent,
		BurstAlloc: r.Burst.Alloc, StagesAlloc: r.RampAlloc, HoldAlloc: r.Idle.Alloc, BurstRounds: r.Burst.Rounds}
	if r.Burst.PerCPU > 0 {
		rr.HandshakeUS = 1e6 / r.Burst.PerCPU
	}
	for _, b := range r.Burst.Rounds {
		rr.BurstRoundsUS = append(rr.BurstRoundsUS, 1e6*b.ServerCPU/max(float64(b.Handshakes), 1))
	}
	for _, n := range r.Errors {
		rr.Errors += n
	}
	return rr
}

// rttP returns one of r's RTT percentiles in ms, NaN when there is none
// (or the bound is past the last bucket: -1).
func (r roundResult) rttP(f func(harness.Percentiles) float64) float64 {
	if r.RTT == nil || r.RTT.Count == 0 || f(*r.RTT) < 0 {
		return math.NaN()
	}
	return f(*r.RTT)
}

func p50(p harness.Percentiles) float64  { return p.P50 }
func p99(p harness.Percentiles) float64  { return p.P99 }
func p999(p harness.Percentiles) float64 { return p.P999 }

// p99r and p999r are read as two servers' are compared: interpolated in
// the bucket, on both (harness.Percentiles.ForRatio).
func p99r(p harness.Percentiles) float64  { return p.ForRatio().P99 }
func p999r(p harness.Percentiles) float64 { return p.ForRatio().P999 }

// variantRows are the ratio rows of the report: each server against cliser
// (the floor as cliser ÷ floor, the variants as variant ÷ cliser).
var variantRows = []struct{ kind, label string }{
	{harness.KindFloor, "cliser ÷ floor (targets 1.2×, 1.3×, 1.3×)"},
	{harness.KindCliserEvents, "cliser+events ÷ cliser (target ≤ 1.10×)"},
	{harness.KindCliserTrust, "cliser+identity+events ÷ cliser (target ≤ 1.10×)"},
}

func floorRoundsMarkdown(all []roundResult, set harness.Settings, at time.Time) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# cliser against the floor, alternating rounds, %s\n\n", at.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "`cliser-bench floor`: round 1 runs, one after the other, %s, round 2 in reverse, and rounds 3 and 4 the same from one server further along that list; stages %v, hold %s, bursts of %d × %d; keep-alive %s. The ratios compare the servers of one round.\n\n",
		serversRun(all), set.Stages, set.Hold, set.Burst, set.BurstRounds, set.KeepAlive)
	if set.HoldRounds > 0 {
		fmt.Fprintf(&b, "Each round keeps its servers up, stopped, after their stages, hold and shutdown, then runs their bursts and one more hold of %s at the top stage interleaved, seconds apart; the idle CPU, RTT, others' CPU and runqueue waits below are that hold's, the allocations' hold column the stage hold's.\n\n", set.RoundHold)
	}
	if note := pinNote(set); note != "" {
		fmt.Fprintf(&b, "Each server of a round also ran a second time%s, without the bursts: the keep-alive RTT with the load off the server's CPUs, which the machine's two cores otherwise share. Every ratio compares the unpinned runs.\n\n", note)
	}
	tableHead(&b, "round", "server", "CPU per handshake (bursts)", "RSS per idle client", "idle CPU",
		"keep-alive RTT p50 / p99 / p999 (server clock, ≤ bucket bound)", "others' CPU in the hold", "errors", "runqueue wait in the hold, server / load")
	for _, r := range all {
		fmt.Fprintf(&b, "| %d | %s%s | %s | %.0f B | %.1f%% | %s | %.0f%% | %d | %.1f%% / %.1f%% |\n", r.Round, r.Server, r.Pinned, usCell(r.HandshakeUS), r.RSSPerClient, r.IdleCPU, rttCell(r), r.OthersCPU, r.Errors, r.ServerWait, r.LoadWait)
	}
	b.WriteString(allocTable(all))
	b.WriteString("\n")
	tableHead(&b, "ratio, per round (median)", "CPU per handshake", "RSS per idle client", "idle CPU", "RTT p99", "RTT p999")
	for _, v := range variantRows {
		cols := ratiosAgainstCliser(all, v.kind)
		if cols == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s |", v.label)
		for _, c := range cols {
			fmt.Fprintf(&b, " %s |", ratioList(c))
		}
		b.WriteString("\n")
	}
	b.WriteString(burstRoundsNote(all))
	b.WriteString(credentialsNote(all))
	b.WriteString(rttVerdict(all))
	return b.String()
}

// credentialsNote: cliser+identity+events holds its credentials from the
// start, so the RSS slope between its plateaus leaves them out; counted
// per client, where a fleet's credentials belong, as
// harness.CredentialMemory judges them: the server's own count, with its
// start RSS above cliser+events' (cliser's when that did not run) beside.
func credentialsNote(all []roundResult) string {
	var b bytes.Buffer
	for round := 1; ; round++ {
		c, okC := find(all, round, harness.KindCliser)
		if !okC {
			break
		}
		tr, ok := find(all, round, harness.KindCliserTrust)
		if !ok || tr.Credentials == 0 {
			continue
		}
		ref, ok := find(all, round, harness.KindCliserEvents)
		if !ok {
			ref = c
		}
		m := harness.NewCredentialMemory(tr.Credentials, tr.CredentialBytes, tr.StartRSS, ref.StartRSS)
		perID, _ := m.Judged()
		fmt.Fprintf(&b, "- round %d: %d credentials, started at %.1f MiB (%s's start %.1f MiB); %s. Counted per client, %.0f B against cliser's %.0f B: **%.2f×**.\n",
			round, tr.Credentials, mibOf(tr.StartRSS), ref.Server, mibOf(ref.StartRSS), m, tr.RSSPerClient+perID, c.RSSPerClient, (tr.RSSPerClient+perID)/c.RSSPerClient)
	}
	if b.Len() == 0 {
		return ""
	}
	return "\nThe credentials' memory (held from the start, so outside the RSS slope):\n\n" + b.String()
}

func mibOf(b int64) float64 { return float64(b) / (1 << 20) }

// ratiosAgainstCliser are cliser ÷ the floor, or kind ÷ cliser for a
// variant, per round: handshake CPU, RSS, idle CPU, RTT p99 and p999. Nil
// when no round ran kind.
func ratiosAgainstCliser(all []roundResult, kind string) [][]float64 {
	cols := make([][]float64, 5)
	for round := 1; ; round++ {
		c, okC := find(all, round, harness.KindCliser)
		o, okO := find(all, round, kind)
		if !okC || !okO {
			break
		}
		num, den := o, c
		if kind == harness.KindFloor {
			num, den = c, o
		}
		for i, v := range []float64{num.HandshakeUS / den.HandshakeUS, num.RSSPerClient / den.RSSPerClient, num.IdleCPU / den.IdleCPU,
			num.rttP(p99r) / den.rttP(p99r), num.rttP(p999r) / den.rttP(p999r)} {
			cols[i] = append(cols[i], v)
		}
	}
	if len(cols[0]) == 0 {
		return nil
	}
	return cols
}

// usCell is a CPU per handshake, "–" for a run without bursts.
func usCell(us float64) string {
	if math.IsNaN(us) {
		return "–"
	}
	return fmt.Sprintf("%.1f µs", us)
}

// allocTable is each run's Go allocations and GC cycles per handshake, off
// the server's Go collector: counts the machine's other load does not move,
// beside the noisy CPU. Empty when no server of the rounds served them.
func allocTable(all []roundResult) string {
	if !slices.ContainsFunc(all, func(r roundResult) bool { return r.BurstAlloc != nil || r.StagesAlloc != nil }) {
		return ""
	}
	var b bytes.Buffer
	b.WriteString("\nThe server's Go allocations and GC cycles per handshake (`go_memstats_alloc_bytes_total`, `go_gc_duration_seconds_count` before and after; the bursts with their closes and settles, the stages with their plateaus' settles), and in the hold (a GC cycle there is a candidate for its RTT tail; – : no Go collector):\n\n")
	tableHead(&b, "round", "server", "bytes allocated per handshake, bursts / stages", "GC cycles per 1,000 handshakes, bursts / stages", "hold: GC cycles / bytes a keep-alive")
	for _, r := range all {
		fmt.Fprintf(&b, "| %d | %s%s | %s / %s | %s / %s | %s |\n", r.Round, r.Server, r.Pinned,
			allocCell(r.BurstAlloc, bytesPer), allocCell(r.StagesAlloc, bytesPer), allocCell(r.BurstAlloc, gcPer), allocCell(r.StagesAlloc, gcPer),
			holdCell(r.HoldAlloc))
	}
	return b.String()
}

// allocCell is one figure of an allocation count, "–" for a server
// without a Go collector.
func allocCell(c *harness.AllocCount, f func(harness.AllocCount) string) string {
	if c == nil {
		return "–"
	}
	return f(*c)
}

// holdCell is the hold's GC cycles and bytes a keep-alive, "–" for a
// server without a Go collector.
func holdCell(h *harness.HoldAlloc) string {
	if h == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f / %.1f B", h.GCCycles, h.BytesPerKeepAlive)
}

func bytesPer(c harness.AllocCount) string { return fmt.Sprintf("%.0f B", c.BytesPerHandshake) }
func gcPer(c harness.AllocCount) string    { return fmt.Sprintf("%.2f", c.GCPer1000) }

func rttCell(r roundResult) string {
	if r.RTT == nil || r.RTT.Count == 0 {
		return "–"
	}
	ms := func(v float64) string {
		if math.IsNaN(v) {
			return "> 10 s"
		}
		return num(v)
	}
	return fmt.Sprintf("%s / %s / %s ms", ms(r.rttP(p50)), ms(r.rttP(p99)), ms(r.rttP(p999)))
}

// rttVerdict judges issue 17's RTT target (p99 ≤ 2 ms, p999 ≤ 10 ms: both
// are bucket bounds, so the judgement is exact) for cliser and the floor
// of each round; where the floor misses it too, the machine does, and the
// report says so with both numbers.
func rttVerdict(all []roundResult) string {
	var b bytes.Buffer
	b.WriteString("\nKeep-alive RTT target (issue 17: p99 ≤ 2 ms, p999 ≤ 10 ms; both are bounds of the histogram, so the judgement is exact). ")
	b.WriteString(harness.RTTReadingNote() + "\n\n")
	for round := 1; ; round++ {
		c, okC := find(all, round, harness.KindCliser)
		if !okC {
			break
		}
		f, okF := find(all, round, harness.KindFloor)
		fmt.Fprintf(&b, "- round %d: %s.\n", round, rttJudged(c, f, okF))
		if pc, ok := findPinned(all, round, harness.KindCliser); ok {
			pf, okPF := findPinned(all, round, harness.KindFloor)
			fmt.Fprintf(&b, "  - the same round%s: %s.\n", pc.Pinned, rttJudged(pc, pf, okPF))
		}
	}
	return b.String()
}

// serverWhat says what each server of the rounds is.
var serverWhat = map[string]string{
	harness.KindCliser:       "cliser (event log off, the shared password)",
	harness.KindFloor:        "the floor (bin/floor-server)",
	harness.KindCliserEvents: "cliser+events (event log and a webhook on)",
	harness.KindCliserTrust:  "cliser+identity+events (the same, and a credential enrolled for every client ID, each client answering 110 with its own secret)",
}

// serversRun names the servers of the first round, in the order they ran.
func serversRun(all []roundResult) string {
	var names []string
	for _, r := range all {
		if r.Round != all[0].Round {
			break
		}
		if r.Pinned == "" {
			names = append(names, cmp.Or(serverWhat[r.Server], r.Server))
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// rttJudged is one round's RTT verdict for cliser, beside the floor's.
func rttJudged(c, f roundResult, okF bool) string {
	met := func(r roundResult) bool { return r.rttP(p99) <= 2 && r.rttP(p999) <= 10 }
	s := fmt.Sprintf("cliser p99 ≤ %s ms, p999 ≤ %s ms: **%s**", num(c.rttP(p99)), num(c.rttP(p999)), yesNo(met(c)))
	if okF && f.RTT != nil && f.RTT.Count > 0 {
		s += fmt.Sprintf("; the floor p99 ≤ %s ms, p999 ≤ %s ms: %s", num(f.rttP(p99)), num(f.rttP(p999)), yesNo(met(f)))
		if !met(f) {
			s += " — the floor misses the target too: on this machine at this load that tail is the machine's, not cliser's"
		}
	}
	return s
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	// to the microsecond: bucket bounds summed in floating point print as
	// 2.9099999999999997 otherwise
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// find is a round's unpinned run of server, the one every ratio compares.
func find(all []roundResult, round int, server string) (roundResult, bool) {
	for _, r := range all {
		if r.Round == round && r.Server == server && r.Pinned == "" {
			return r, true
		}
	}
	return roundResult{}, false
}

// findPinned is a round's pinned run of server (--server-cpus, --load-cpus).
func findPinned(all []roundResult, round int, server string) (roundResult, bool) {
	for _, r := range all {
		if r.Round == round && r.Server == server && r.Pinned != "" {
			return r, true
		}
	}
	return roundResult{}, false
}

// pinnedAndNot are the runs of one server in a round: as set when nothing
// is pinned; else unpinned first (every figure, as always) and then pinned
// (the hold's RTT and CPU with the load off the server's CPUs; no bursts).
func pinnedAndNot(set harness.Settings) []harness.Settings {
	if set.ServerCPUs == "" && set.LoadCPUs == "" {
		return []harness.Settings{set}
	}
	unpinned, pinned := set, set
	unpinned.ServerCPUs, unpinned.LoadCPUs = "", ""
	pinned.Burst = 0
	return []harness.Settings{unpinned, pinned}
}

// pinNote names where a run's processes were pinned ("" when not).
func pinNote(s harness.Settings) string {
	if s.ServerCPUs == "" && s.LoadCPUs == "" {
		return ""
	}
	return fmt.Sprintf(" (pinned: server CPUs %s, load CPUs %s)", orAll(s.ServerCPUs), orAll(s.LoadCPUs))
}

func orAll(cpus string) string {
	if cpus == "" {
		return "all"
	}
	return cpus
}

func ratioList(v []float64) string {
	v = slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(v) == 0 {
		return "–"
	}
	var b bytes.Buffer
	for i, x := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.2f×", x)
	}
	fmt.Fprintf(&b, " (**%.2f×**)", harness.Median(v))
	return b.String()
}
