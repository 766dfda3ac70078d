package main

import (
	"bufio"
	"context"
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

	"github.com/cliser/cliser/bench/harness"
)

// What the round-based benches (identity, webhook) share: their common
// flags, one `cliser serve` per round, the report files and the medians.

// roundFlags are the flags every round-based bench takes.
type roundFlags struct {
	clients, rounds, concurrency int
	bin, out                     string
}

// register adds the flags to fs; rounds is the default number of rounds.
func (f *roundFlags) register(fs *flag.FlagSet, clientsUsage string, rounds int) {
	fs.IntVar(&f.clients, "clients", 19000, clientsUsage)
	fs.IntVar(&f.rounds, "rounds", rounds, "rounds of each mode, alternating")
	fs.StringVar(&f.bin, "cliser-bin", "bin/cliser", "the cliser binary")
	fs.StringVar(&f.out, "out", "", "write the report to this .md (and the figures to the .json beside it); default: stdout only")
	fs.IntVar(&f.concurrency, "concurrency", 256, "handshakes in flight")
}

// parse parses args into the flags and checks them.
func (f *roundFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.clients < 1 || f.rounds < 1 {
		return errors.New("--clients and --rounds must be positive")
	}
	return nil
}

// runRounds runs every mode once a round, f.rounds rounds, each run in a
// directory of its own under a temporary one; run is given the round (from
// 0) and how many runs came before it (seq).
func runRounds[R any](f *roundFlags, name string, modes []string, run func(dir, mode string, round, seq int) (R, error)) ([]R, error) {
	work, err := os.MkdirTemp("", "cliser-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	var results []R
	for r := 0; r < f.rounds; r++ {
		order := slices.Clone(modes)
		if r%2 == 1 {
			// Every other round runs the modes backwards (off, log, on, then
			// on, log, off): a load that grows or falls across the run then
			// weighs on each mode alike instead of always on the last.
			slices.Reverse(order)
		}
		for _, mode := range order {
			// Each round makes twice --clients connections (see conntrack.go).
			waitForConntrack(fmt.Sprintf("%s round %d", mode, r+1), 2*f.clients)
			res, err := run(filepath.Join(work, fmt.Sprintf("%s-%d", mode, r)), mode, r, len(results))
			if err != nil {
				return nil, fmt.Errorf("%s round %d: %w", mode, r+1, err)
			}
			results = append(results, res)
		}
	}
	return results, nil
}

// writeRoundReport prints the report and, with --out, writes it and the
// results as JSON beside it.
func (f *roundFlags) writeRoundReport(md string, results any) error {
	fmt.Print(md)
	if f.out == "" {
		return nil
	}
	if err := os.WriteFile(f.out, []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("the figures: %w", err)
	}
	return os.WriteFile(strings.TrimSuffix(f.out, ".md")+".json", js, 0o644)
}

// roundShortfall is the error of a round in which not every client
// registered, nil where every one did.
func roundShortfall(mode string, round, clients int, registered, errs int64) error {
	if errs > 0 || registered != int64(clients) {
		return fmt.Errorf("%s round %d: %d of %d registered, %d errors", mode, round, registered, clients, errs)
	}
	return nil
}

// benchPassword is every round's shared password.
const benchPassword = "bench-shared-password"

// startServe starts `cliser serve` on a loopback port of its own with no
// admin API and no limit on handshakes (the bench is one address hammering
// it), plus extra arguments and environment, and waits for its ready
// line. stop ends it and waits for it to exit.
func startServe(ctx context.Context, bin, dir string, extra, env []string) (cmd *exec.Cmd, addr string, stop func(), err error) {
	cmd, addr, _, stop, err = startServeAdmin(ctx, bin, dir, extra, env)
	return cmd, addr, stop, err
}

// startServeAdmin is startServe that also says the admin API's address,
// for extra arguments that turn it on (the last --admin-listen wins).
func startServeAdmin(ctx context.Context, bin, dir string, extra, env []string) (cmd *exec.Cmd, addr, admin string, stop func(), err error) {
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir,
		"--keepalive-interval", "1h", "--max-handshakes-per-ip", "0", "--auth-fail-limit", "0"}, extra...)
	cmd = exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "CLISER_PASSWORD="+benchPassword, "GOMAXPROCS="+fmt.Sprint(runtime.NumCPU())), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", "", nil, err
	}
	if err := harness.StartTied(cmd, nil); err != nil { // dies with the bench, however it ends
		return nil, "", "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	if addr, admin, err = readyAddr(stderr); err != nil {
		stop()
		return nil, "", "", nil, err
	}
	return cmd, addr, admin, stop, nil
}

// readyAddr reads serve's log until its ready line and returns the
// protocol's and the admin API's addresses; the rest of the log is
// drained in the background.
func readyAddr(r io.Reader) (addr, admin string, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var e struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
			Admin  string `json:"admin"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && strings.HasPrefix(e.Msg, "cliser ready") {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return e.Listen, e.Admin, nil
		}
	}
	return "", "", errors.New("serve exited before its ready line")
}

// sourceIPs are four loopback addresses under prefix ("127.0.20."): each
// round dials from addresses of its own, so that the previous rounds'
// TIME_WAIT ports never run this one short.
func sourceIPs(prefix string) []string {
	var out []string
	for i := 1; i <= 4; i++ {
		out = append(out, prefix+fmt.Sprint(i))
	}
	return out
}

// medianOf is the median of f over the rounds of mode.
func medianOf[R any](rs []R, modeOf func(R) string, mode string, f func(R) float64) float64 {
	var v []float64
	for _, r := range rs {
		if modeOf(r) == mode {
			v = append(v, f(r))
		}
	}
	return harness.Median(v)
}
