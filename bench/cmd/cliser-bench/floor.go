package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/cliser/cliser/bench/harness"
)

// floorRounds runs cliser, the floor and cliser+events in alternating
// rounds of a short shape, so that each ratio compares runs minutes apart
// rather than a whole report apart: on a shared machine the noise between
// two long runs is larger than the differences the floor targets judge.
// It writes bench/results/<date>-floor-rounds.{md,json}.
func floorRounds(ctx context.Context, args []string) error {
	fs, c := commonFlagSet("floor")
	rounds := fs.Int("rounds", 3, "rounds; each runs every server once")
	outDir := fs.String("out-dir", "bench/results", "where the report goes")
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
	kinds := []string{harness.KindCliser, harness.KindFloor, harness.KindCliserEvents}
	var all []roundResult
	for r := range *rounds {
		for _, k := range kinds {
			fmt.Fprintf(os.Stderr, "== round %d: %s\n", r+1, k)
			res, err := harness.Run(ctx, k, set, env)
			if err != nil {
				return fmt.Errorf("round %d %s: %w", r+1, k, err)
			}
			all = append(all, newRoundResult(r+1, res))
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
			"others_cpu_percent": r.OthersCPU, "errors": r.Errors}
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
}

func newRoundResult(round int, r *harness.Result) roundResult {
	rr := roundResult{Round: round, Server: r.Server, RSSPerClient: r.RSSPerClient, IdleCPU: r.Idle.CPUPercent,
		IdleClients: r.Idle.Clients, OthersCPU: r.Idle.OthersCPUPercent, HandshakeUS: math.NaN()}
	if r.Burst.PerCPU > 0 {
		rr.HandshakeUS = 1e6 / r.Burst.PerCPU
	}
	for _, n := range r.Errors {
		rr.Errors += n
	}
	return rr
}

func floorRoundsMarkdown(all []roundResult, set harness.Settings, at time.Time) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# cliser against the floor, alternating rounds, %s\n\n", at.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "`cliser-bench floor`: each round runs cliser (event log off), the floor (bin/floor-server) and cliser+events (event log and a webhook on), one after the other, stages %v, hold %s, bursts of %d × %d; keep-alive %s. The ratios compare the servers of one round.\n\n",
		set.Stages, set.Hold, set.Burst, set.BurstRounds, set.KeepAlive)
	tableHead(&b, "round", "server", "CPU per handshake (bursts)", "RSS per idle client", "idle CPU", "others' CPU in the hold", "errors")
	for _, r := range all {
		fmt.Fprintf(&b, "| %d | %s | %.1f µs | %.0f B | %.1f%% | %.0f%% | %d |\n", r.Round, r.Server, r.HandshakeUS, r.RSSPerClient, r.IdleCPU, r.OthersCPU, r.Errors)
	}
	ratios := map[string][3][]float64{}
	for _, k := range []string{harness.KindFloor, harness.KindCliserEvents} {
		var hs, rss, idle []float64
		for round := 1; ; round++ {
			c, okC := find(all, round, harness.KindCliser)
			o, okO := find(all, round, k)
			if !okC || !okO {
				break
			}
			hs, rss, idle = append(hs, c.HandshakeUS/o.HandshakeUS), append(rss, c.RSSPerClient/o.RSSPerClient), append(idle, c.IdleCPU/o.IdleCPU)
		}
		ratios[k] = [3][]float64{hs, rss, idle}
	}
	f, e := ratios[harness.KindFloor], ratios[harness.KindCliserEvents]
	b.WriteString("\n| ratio, per round (median) | CPU per handshake | RSS per idle client | idle CPU |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | %s | %s | %s |\n", ratioList(f[0]), ratioList(f[1]), ratioList(f[2]))
	fmt.Fprintf(&b, "| cliser+events ÷ cliser (target ≤ 1.10×) | %s | %s | %s |\n", ratioList(inv(e[0])), ratioList(inv(e[1])), ratioList(inv(e[2])))
	return b.String()
}

func find(all []roundResult, round int, server string) (roundResult, bool) {
	for _, r := range all {
		if r.Round == round && r.Server == server {
			return r, true
		}
	}
	return roundResult{}, false
}

func inv(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = 1 / x
	}
	return out
}

func ratioList(v []float64) string {
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
	fmt.Fprintf(&b, " (**%.2f×**)", median(v))
	return b.String()
}
