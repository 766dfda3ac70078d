package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/bench/load"
)

// replayBench measures what event streams catching up on the log do to
// the protocol's keep-alives (EVENTS.md: nothing there makes a keep-alive
// wait). Each round starts `cliser serve` at a 1 s keep-alive, fills its
// log with --events events (clients registering and leaving), holds
// --clients clients, and reads the server's keep-alive RTT over a quiet
// window, then over a window in which --streams streams replay the log
// from seq 0, over and over. With --before-bin, rounds alternate between
// that binary and --cliser-bin: the before and after of a change, in one
// run.
type replayRound struct {
	Mode       string        `json:"mode"` // "this" or "before"
	Round      int           `json:"round"`
	Clients    int           `json:"clients"`
	Streams    int           `json:"streams"`
	Events     uint64        `json:"events"` // in the log
	QuietP99   float64       `json:"quiet_p99_s"`
	QuietP999  float64       `json:"quiet_p999_s"`
	QuietN     float64       `json:"quiet_keepalives"`
	ReplayP99  float64       `json:"replay_p99_s"`
	ReplayP999 float64       `json:"replay_p999_s"`
	ReplayN    float64       `json:"replay_keepalives"`
	Replayed   int64         `json:"replayed_events"` // events the streams received in their window
	QuietCPU   time.Duration `json:"quiet_server_cpu_ns"`
	ReplayCPU  time.Duration `json:"replay_server_cpu_ns"`
	ReplayWall time.Duration `json:"replay_wall_ns"` // the window, and the streams' last replays past its end
}

type replayFlags struct {
	roundFlags
	streams   int
	events    int
	window    time.Duration
	beforeBin string
}

func replayBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var f replayFlags
	f.register(fs, "clients held, answering keep-alives", 3)
	f.clients = 500
	fs.Lookup("clients").DefValue = "500"
	fs.IntVar(&f.streams, "streams", 40, "event streams replaying the log at once")
	fs.IntVar(&f.events, "events", 16000, "events in the log (half connects, half disconnects)")
	fs.DurationVar(&f.window, "window", 6*time.Second, "each measuring window, quiet and replaying")
	fs.StringVar(&f.beforeBin, "before-bin", "", "a second cliser binary, run in alternating rounds (mode before)")
	if err := f.parse(fs, args); err != nil {
		return err
	}
	if f.streams < 1 || f.events < 2 || f.window <= 0 {
		return usageError{errors.New("--streams >= 1, --events >= 2 and --window > 0")}
	}
	modes := []string{"this"}
	if f.beforeBin != "" {
		modes = append(modes, "before")
	}
	results, err := runRounds(&f.roundFlags, "replay", modes, func(dir, mode string, r, seq int) (replayRound, error) {
		bin := f.bin
		if mode == "before" {
			bin = f.beforeBin
		}
		res, err := replayRoundRun(ctx, &f, bin, dir, mode, r, seq)
		if err == nil {
			fmt.Fprintf(os.Stderr, "%-6s round %d: keep-alive p99 %s quiet, %s replaying; %d events replayed\n",
				mode, r+1, ms(res.QuietP99), ms(res.ReplayP99), res.Replayed)
		}
		return res, err
	})
	if err != nil {
		return err
	}
	return f.writeRoundReport(replayReport(results, &f), results)
}

func replayRoundRun(ctx context.Context, f *replayFlags, bin, dir, mode string, round, seq int) (replayRound, error) {
	res := replayRound{Mode: mode, Round: round + 1, Clients: f.clients, Streams: f.streams}
	cmd, addr, adminAddr, stop, err := startServeAdmin(ctx, bin, dir,
		[]string{"--admin-listen", "127.0.0.1:0", "--keepalive-interval", "1s", "--flap-limit", "0"}, nil)
	if err != nil {
		return res, err
	}
	defer stop()
	base := "http://" + adminAddr
	cfg := load.Config{Addr: addr, Password: benchPassword, IDPrefix: "replay-fill-",
		SourceIPs: sourceIPs(fmt.Sprintf("127.1.%d.", 20+seq)), Concurrency: f.concurrency}
	if err := fillLog(ctx, cfg, f.events/2); err != nil {
		return res, err
	}
	cfg.IDPrefix, cfg.SourceIPs = "replay-hold-", sourceIPs(fmt.Sprintf("127.2.%d.", 20+seq))
	hold, err := load.New(cfg)
	if err != nil {
		return res, err
	}
	defer closeLoad(hold)
	if err := hold.Ramp(ctx, f.clients, 0); err != nil {
		return res, err
	}
	if res.Events, err = newestSeq(ctx, base); err != nil {
		return res, err
	}
	// Every held client answers a keep-alive or two before the windows.
	if _, err := rttWindow(ctx, base, cmd.Process.Pid, 2*time.Second, nil); err != nil {
		return res, err
	}
	quiet, err := rttWindow(ctx, base, cmd.Process.Pid, f.window, nil)
	if err != nil {
		return res, err
	}
	var replayed atomic.Int64
	replay, err := rttWindow(ctx, base, cmd.Process.Pid, f.window, func(end time.Time) error {
		return replayStreams(ctx, base, f.streams, res.Events, end, &replayed)
	})
	if err != nil {
		return res, err
	}
	res.QuietP99, res.QuietP999, res.QuietN, res.QuietCPU = quiet.p99, quiet.p999, quiet.n, quiet.cpu
	res.ReplayP99, res.ReplayP999, res.ReplayN, res.ReplayCPU, res.ReplayWall = replay.p99, replay.p999, replay.n, replay.cpu, replay.wall
	res.Replayed = replayed.Load()
	return res, nil
}

// fillLog registers n clients and lets them go: 2n events.
func fillLog(ctx context.Context, cfg load.Config, n int) error {
	eng, err := load.New(cfg)
	if err != nil {
		return err
	}
	if err := eng.Ramp(ctx, n, 0); err != nil {
		closeLoad(eng)
		return err
	}
	if got := eng.Counts().Registered; got != int64(n) {
		closeLoad(eng)
		return fmt.Errorf("filling the log: %d of %d clients registered", got, n)
	}
	closeLoad(eng)
	return nil
}

func closeLoad(eng *load.Engine) {
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = eng.Close(cctx)
}

// newestSeq is the log's newest seq once the writer has stored every
// event so far: it polls until two reads a quarter second apart agree.
func newestSeq(ctx context.Context, base string) (uint64, error) {
	var last uint64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := eventsNext(ctx, base)
		if err != nil {
			return 0, err
		}
		if n > 0 && n == last {
			return n, nil
		}
		last = n
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("the event log did not settle in 30 s (newest %d)", last)
}

func eventsNext(ctx context.Context, base string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events?limit=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page struct {
		Next uint64 `json:"next"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /v1/events: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	return page.Next, err
}

// window is what one measuring window read: the keep-alive RTT's p99 and
// p999 (seconds), how many keep-alives, the server's CPU, and how long it
// lasted.
type window struct {
	p99, p999, n float64
	cpu, wall    time.Duration
}

// rttWindow reads the server's keep-alive RTT over d, while during runs
// (when given) until the window ends; the window lasts until during
// returns, if that is later.
func rttWindow(ctx context.Context, base string, pid int, d time.Duration, during func(end time.Time) error) (window, error) {
	metrics := base + "/metrics"
	before, err := harness.ScrapeKeepAliveRTT(ctx, metrics)
	if err != nil {
		return window{}, err
	}
	cpu0, err := harness.ProcessCPU(pid)
	if err != nil {
		return window{}, err
	}
	start := time.Now()
	end := start.Add(d)
	if during != nil {
		if err := during(end); err != nil {
			return window{}, err
		}
	}
	select {
	case <-ctx.Done():
		return window{}, ctx.Err()
	case <-time.After(time.Until(end)):
	}
	cpu1, err := harness.ProcessCPU(pid)
	if err != nil {
		return window{}, err
	}
	after, err := harness.ScrapeKeepAliveRTT(ctx, metrics)
	if err != nil {
		return window{}, err
	}
	h := after.Since(before)
	return window{p99: h.Quantile(0.99), p999: h.Quantile(0.999), n: h.Count(), cpu: cpu1 - cpu0, wall: time.Since(start)}, nil
}
