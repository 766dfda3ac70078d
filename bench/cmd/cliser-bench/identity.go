package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/bench/load"
)

// identityBench measures what a secret per client costs the handshake
// (docs/identity.md): the same `cliser serve` binary takes N clients once
// with the shared password (no credential exists: the seed's check on the
// 110 answer) and once with N enrolled client IDs each answering its own
// secret (the deferred check on the 120 answer), in alternating rounds of
// one run. It reports the server's CPU per handshake and the wall-clock
// rate of each, and whether the secrets stay within 10% of the password.
type identityRound struct {
	Mode         string        `json:"mode"` // "shared" or "secrets"
	Round        int           `json:"round"`
	Clients      int           `json:"clients"`
	Registered   int64         `json:"registered"`
	Errors       int64         `json:"errors"`
	Wall         time.Duration `json:"wall_ns"`
	ServerCPU    time.Duration `json:"server_cpu_ns"`
	RatePerSec   float64       `json:"handshakes_per_s"`
	CPUPerHS     time.Duration `json:"server_cpu_per_handshake_ns"`
	HSPerCPUSec  float64       `json:"handshakes_per_cpu_s"`
	SourcePrefix string        `json:"source_prefix"`
}

func identityBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("identity", flag.ContinueOnError)
	var f roundFlags
	f.register(fs, "clients (and enrolled client IDs) per round", 3)
	if err := f.parse(fs, args); err != nil {
		return err
	}
	results, err := runRounds(&f, "identity", []string{"shared", "secrets"}, func(dir, mode string, r, seq int) (identityRound, error) {
		res, err := identityRoundRun(ctx, f.bin, dir, mode, r, f.clients, f.concurrency, seq)
		if err == nil {
			fmt.Fprintf(os.Stderr, "%-7s round %d: %d registered, %d errors, %.0f/s wall, %v server CPU per handshake\n",
				mode, r+1, res.Registered, res.Errors, res.RatePerSec, res.CPUPerHS)
		}
		return res, err
	})
	if err != nil {
		return err
	}
	if err := f.writeRoundReport(identityReport(results, f.clients), results); err != nil {
		return err
	}
	for _, r := range results {
		if err := roundShortfall(r.Mode, r.Round, r.Clients, r.Registered, r.Errors); err != nil {
			return err
		}
	}
	return nil
}

// identityKey derives the round's secrets (load.Secret).
const identityKey = "cliser-bench-identity"

func identityRoundRun(ctx context.Context, bin, dir, mode string, round, n, concurrency, seq int) (identityRound, error) {
	res := identityRound{Mode: mode, Round: round + 1, Clients: n}
	if mode == "secrets" {
		if err := harness.SeedCredentials(dir, identityKey, "id-bench-", n); err != nil {
			return res, err
		}
	}
	cmd, addr, stop, err := startServe(ctx, bin, dir, nil, nil)
	if err != nil {
		return res, err
	}
	defer stop()
	res.SourcePrefix = fmt.Sprintf("127.0.%d.", 20+seq)
	srcs := sourceIPs(res.SourcePrefix)
	cfg := load.Config{Addr: addr, Password: benchPassword, IDPrefix: "id-bench-", SourceIPs: srcs, Concurrency: concurrency}
	if mode == "secrets" {
		cfg.SecretKey = identityKey
	}
	eng, err := load.New(cfg)
	if err != nil {
		return res, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = eng.Close(cctx)
	}()
	cpu0, err := harness.ProcessCPU(cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := eng.Ramp(ctx, n, 0); err != nil {
		return res, err
	}
	res.Wall = time.Since(start)
	cpu1, err := harness.ProcessCPU(cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	st := eng.Counts()
	res.Registered = st.Registered
	res.Errors = st.ErrorTotal()
	res.ServerCPU = cpu1 - cpu0
	res.RatePerSec = float64(res.Registered) / res.Wall.Seconds()
	if res.Registered > 0 {
		res.CPUPerHS = res.ServerCPU / time.Duration(res.Registered)
	}
	if res.ServerCPU > 0 { // CPU is counted in ticks: a short round can read none
		res.HSPerCPUSec = float64(res.Registered) / res.ServerCPU.Seconds()
	}
	return res, nil
}

func identityReport(rs []identityRound, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Handshake cost of a secret per client, %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "`cliser-bench identity --clients %d --rounds %d`: the same `cliser serve` takes %d clients\n", n, len(rs)/2, n)
	b.WriteString("with the shared password (no credential exists) and with as many enrolled client IDs, each\n")
	b.WriteString("answering its own secret (the deferred check), in alternating rounds; server and load share\n")
	fmt.Fprintf(&b, "the machine's %d cores over loopback, the load dials from 4 addresses per round.\n\n", runtime.NumCPU())
	tableHead(&b, "mode", "round", "registered", "errors", "wall", "handshakes/s", "server CPU", "CPU per handshake", "handshakes per CPU-second")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %v | %.0f | %v | %v | %.0f |\n", r.Mode, r.Round, r.Registered, r.Errors,
			r.Wall.Round(time.Millisecond), r.RatePerSec, r.ServerCPU.Round(time.Millisecond), r.CPUPerHS.Round(100*time.Nanosecond), r.HSPerCPUSec)
	}
	med := func(mode string, f func(identityRound) float64) float64 {
		return medianOf(rs, func(r identityRound) string { return r.Mode }, mode, f)
	}
	cpu := func(r identityRound) float64 { return float64(r.CPUPerHS) }
	rate := func(r identityRound) float64 { return r.RatePerSec }
	cpuRatio := med("secrets", cpu) / med("shared", cpu)
	rateRatio := med("secrets", rate) / med("shared", rate)
	verdict := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	b.WriteString("\nMedians over the rounds:\n\n")
	b.WriteString("| | shared password | own secrets | secrets / shared | within 10% |\n| --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| server CPU per handshake | %v | %v | %.3f | %s |\n", time.Duration(med("shared", cpu)).Round(100*time.Nanosecond),
		time.Duration(med("secrets", cpu)).Round(100*time.Nanosecond), cpuRatio, verdict(cpuRatio <= 1.10))
	fmt.Fprintf(&b, "| handshakes/s (wall) | %.0f | %.0f | %.3f | %s |\n", med("shared", rate), med("secrets", rate), rateRatio, verdict(rateRatio >= 0.90))
	return b.String()
}
