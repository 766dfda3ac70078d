package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
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
	clients := fs.Int("clients", 19000, "clients (and enrolled client IDs) per round")
	rounds := fs.Int("rounds", 3, "rounds of each mode, alternating")
	bin := fs.String("cliser-bin", "bin/cliser", "the cliser binary")
	out := fs.String("out", "", "write the report to this .md (and the figures to the .json beside it); default: stdout only")
	concurrency := fs.Int("concurrency", 256, "handshakes in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *rounds < 1 {
		return errors.New("--clients and --rounds must be positive")
	}
	work, err := os.MkdirTemp("", "cliser-bench-identity-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var results []identityRound
	for r := 0; r < *rounds; r++ {
		for _, mode := range []string{"shared", "secrets"} {
			res, err := identityRoundRun(ctx, *bin, filepath.Join(work, fmt.Sprintf("%s-%d", mode, r)), mode, r, *clients, *concurrency, len(results))
			if err != nil {
				return fmt.Errorf("%s round %d: %w", mode, r+1, err)
			}
			fmt.Fprintf(os.Stderr, "%-7s round %d: %d registered, %d errors, %.0f/s wall, %v server CPU per handshake\n",
				mode, r+1, res.Registered, res.Errors, res.RatePerSec, res.CPUPerHS)
			results = append(results, res)
		}
	}
	md := identityReport(results, *clients)
	fmt.Print(md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			return err
		}
		js, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(strings.TrimSuffix(*out, ".md")+".json", js, 0o644); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.Errors > 0 || r.Registered != int64(r.Clients) {
			return fmt.Errorf("%s round %d: %d of %d registered, %d errors", r.Mode, r.Round, r.Registered, r.Clients, r.Errors)
		}
	}
	return nil
}

const benchPassword = "bench-shared-password"

// benchSecret is client id's secret, derived so that the seed and the load
// agree without passing 19,000 secrets around: 43 base64url characters,
// like the ones `cliser credentials add` makes.
func benchSecret(id string) string {
	d := sha256.Sum256([]byte("cliser-bench-identity/" + id))
	return base64.RawURLEncoding.EncodeToString(d[:])
}

func seedCredentials(dir string, n int) error {
	st, err := boltstore.Open(dir)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	cs := make([]identity.Credential, n)
	for i := range cs {
		id := fmt.Sprintf("id-bench-%d", i)
		cs[i] = identity.Credential{CID: id, Digest: identity.Digest([]byte(benchSecret(id))), CreatedAt: now}
	}
	if err := st.PutCredentials(context.Background(), cs); err != nil {
		_ = st.Close()
		return err
	}
	return st.Close()
}

func identityRoundRun(ctx context.Context, bin, dir, mode string, round, n, concurrency, seq int) (identityRound, error) {
	res := identityRound{Mode: mode, Round: round + 1, Clients: n}
	if mode == "secrets" {
		if err := seedCredentials(dir, n); err != nil {
			return res, err
		}
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off",
		"--data-dir", dir, "--keepalive-interval", "1h", "--max-handshakes-per-ip", "0", "--auth-fail-limit", "0")
	cmd.Env = append(os.Environ(), "CLISER_PASSWORD="+benchPassword, "GOMAXPROCS="+fmt.Sprint(runtime.NumCPU()))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	addr, err := readyAddr(stderr)
	if err != nil {
		return res, err
	}
	// Each round dials from addresses of its own, so that the previous
	// rounds' TIME_WAIT ports never run this one short.
	res.SourcePrefix = fmt.Sprintf("127.0.%d.", 20+seq)
	var srcs []string
	for i := 1; i <= 4; i++ {
		srcs = append(srcs, res.SourcePrefix+fmt.Sprint(i))
	}
	cfg := load.Config{Addr: addr, Password: benchPassword, IDPrefix: "id-bench-", SourceIPs: srcs, Concurrency: concurrency}
	if mode == "secrets" {
		cfg.Secret = benchSecret
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
	for _, n := range st.Errors {
		res.Errors += n
	}
	res.ServerCPU = cpu1 - cpu0
	res.RatePerSec = float64(res.Registered) / res.Wall.Seconds()
	if res.Registered > 0 {
		res.CPUPerHS = res.ServerCPU / time.Duration(res.Registered)
		res.HSPerCPUSec = float64(res.Registered) / res.ServerCPU.Seconds()
	}
	return res, nil
}

// readyAddr reads serve's log until its ready line and returns the
// protocol address; the rest of the log is drained in the background.
func readyAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var e struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && strings.HasPrefix(e.Msg, "cliser ready") {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return e.Listen, nil
		}
	}
	return "", errors.New("serve exited before its ready line")
}

func identityReport(rs []identityRound, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Handshake cost of a secret per client, %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "`cliser-bench identity --clients %d --rounds %d`: the same `cliser serve` takes %d clients\n", n, len(rs)/2, n)
	b.WriteString("with the shared password (no credential exists) and with as many enrolled client IDs, each\n")
	b.WriteString("answering its own secret (the deferred check), in alternating rounds; server and load share\n")
	fmt.Fprintf(&b, "the machine's %d cores over loopback, the load dials from 4 addresses per round.\n\n", runtime.NumCPU())
	b.WriteString("| mode | round | registered | errors | wall | handshakes/s | server CPU | CPU per handshake | handshakes per CPU-second |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %v | %.0f | %v | %v | %.0f |\n", r.Mode, r.Round, r.Registered, r.Errors,
			r.Wall.Round(time.Millisecond), r.RatePerSec, r.ServerCPU.Round(time.Millisecond), r.CPUPerHS.Round(100*time.Nanosecond), r.HSPerCPUSec)
	}
	med := func(mode string, f func(identityRound) float64) float64 {
		var v []float64
		for _, r := range rs {
			if r.Mode == mode {
				v = append(v, f(r))
			}
		}
		slices.Sort(v)
		return v[len(v)/2]
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
