package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cliser/cliser/bench/harness"
	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/cpuprofile"
)

// webhookRoundRun is one round of mode: n clients register, then the
// storm (all drop and register again at once); with the log on, the
// events expected, and with the webhook on, their delivery.
func webhookRoundRun(ctx context.Context, bin, dir, mode string, round, n, concurrency, seq int, prof string) (res webhookRound, err error) {
	res = webhookRound{Mode: mode, Round: round + 1, Clients: n}
	srv, err := startStormServer(ctx, bin, dir, mode, prof)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	// Each round dials from addresses of its own, as many as its two
	// engines.
	srcs := func(k int) []string { return sourceIPs(fmt.Sprintf("127.%d.%d.", 60+k, 20+seq)) }
	cfg := load.Config{Addr: srv.addr, Password: benchPassword, IDPrefix: "storm-", SourceIPs: srcs(0), Concurrency: concurrency}
	first, err := load.New(cfg)
	if err != nil {
		return res, err
	}
	if err := first.Ramp(ctx, n, 0); err != nil {
		return res, err
	}
	reg1 := first.Counts().Registered
	cfg.SourceIPs = srcs(1)
	second, stormEnd, err := res.storm(ctx, srv, first, cfg, prof)
	if second != nil {
		defer closeStormLoad(second)
	}
	if err != nil || mode == "off" {
		return res, err
	}
	// Connected, disconnected (closed by client, or replaced when the new
	// connection won the race), connected again.
	res.Events = 2*reg1 + res.Registered
	defer res.noteLogFile(dir) // once its writer caught up
	if srv.rcv == nil {
		return res, nil
	}
	err = res.awaitDelivery(srv.rcv, stormEnd)
	return res, err
}

// stormServer is a round's `cliser serve` and, with the webhook on, the
// receiver it posts to.
type stormServer struct {
	cmd  *exec.Cmd
	addr string
	rcv  *stormReceiver
	stop func() // the server, then the receiver
}

// startStormServer starts serve for mode, profiled into prof when set.
func startStormServer(ctx context.Context, bin, dir, mode, prof string) (*stormServer, error) {
	args, env, rcv, closeRcv, err := stormServerArgs(mode)
	if err != nil {
		closeRcv()
		return nil, err
	}
	if prof != "" {
		env = append(env, cpuprofile.Env+"="+prof)
	}
	cmd, addr, stop, err := startServe(ctx, bin, dir, args, env)
	if err != nil {
		closeRcv()
		return nil, err
	}
	return &stormServer{cmd: cmd, addr: addr, rcv: rcv, stop: func() { stop(); closeRcv() }}, nil
}

// storm closes every client of first at once and registers as many again
// from cfg: its wall time, the server's CPU (profiled when prof is set)
// and what connection tracking dropped go in res. It returns the second
// engine for the caller to close, nil if none was made, and when its
// last handshake was done.
func (res *webhookRound) storm(ctx context.Context, srv *stormServer, first *load.Engine, cfg load.Config, prof string) (second *load.Engine, end time.Time, err error) {
	pid := srv.cmd.Process.Pid
	if prof != "" {
		if err := cpuprofile.Start(srv.cmd.Process, prof); err != nil {
			return nil, end, err
		}
	}
	user0, sys0, err := harness.ProcessCPUSplit(pid)
	if err != nil {
		return nil, end, err
	}
	res.Load1 = loadAvg()
	drops0 := conntrackDrops()
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = first.Close(cctx)
	cancel()
	if err != nil {
		return nil, end, err
	}
	if second, err = load.New(cfg); err != nil {
		return nil, end, err
	}
	if err := second.Ramp(ctx, res.Clients, 0); err != nil {
		return second, end, err
	}
	end = time.Now()
	res.StormWall = end.Sub(start)
	res.CTDrops = conntrackDrops() - drops0
	user1, sys1, err := harness.ProcessCPUSplit(pid)
	if err != nil {
		return second, end, err
	}
	if prof != "" {
		if err := cpuprofile.Stop(srv.cmd.Process, prof); err != nil {
			return second, end, err
		}
	}
	res.noteStormCounts(second.Counts(), user1-user0, sys1-sys0)
	return second, end, nil
}

// noteStormCounts records the storm's registrations and errors, and the
// server's CPU over it, in all and per handshake.
func (res *webhookRound) noteStormCounts(st load.Stats, user, sys time.Duration) {
	res.Registered = st.Registered
	res.Errors, res.ErrorKinds = st.ErrorTotal(), st.Errors
	res.ServerCPU = user + sys
	if res.Registered > 0 {
		res.CPUPerHS = res.ServerCPU / time.Duration(res.Registered)
		res.UserPerHS = user / time.Duration(res.Registered)
		res.SysPerHS = sys / time.Duration(res.Registered)
	}
}

func closeStormLoad(e *load.Engine) {
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = e.Close(cctx)
}

// stormServerArgs are the server's flags and environment for mode: "on"
// with a webhook to a receiver started here (closeRcv stops it), "off"
// with the event log off, else the log alone.
func stormServerArgs(mode string) (args, env []string, rcv *stormReceiver, closeRcv func(), err error) {
	closeRcv = func() {}
	switch mode {
	case "off":
		args = append(args, "--event-retention", "0")
	case "on":
		wh, err := standardwebhooks.NewWebhook(benchWebhookSecret)
		if err != nil {
			return nil, nil, nil, closeRcv, err
		}
		rcv = &stormReceiver{wh: wh, seen: map[uint64]bool{}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, nil, closeRcv, err
		}
		hs := &http.Server{Handler: rcv}
		go func() { _ = hs.Serve(ln) }()
		closeRcv = func() { _ = hs.Close() }
		args = append(args, "--webhook-url", "http://"+ln.Addr().String()+"/hook")
		env = append(env, "CLISER_WEBHOOK_SECRET="+benchWebhookSecret)
	}
	return args, env, rcv, closeRcv, nil
}

// noteLogFile records the event log's size in dir.
func (res *webhookRound) noteLogFile(dir string) {
	fi, err := os.Stat(filepath.Join(dir, events.FileName))
	if err != nil {
		return
	}
	res.LogBytes = fi.Size()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		res.LogAlloc = st.Blocks * 512
	}
	res.BytesPerEvt = float64(res.LogAlloc) / float64(res.Events)
}

// awaitDelivery waits, up to 10 minutes, until rcv has every event of the
// round, then checks what it got.
func (res *webhookRound) awaitDelivery(rcv *stormReceiver, stormEnd time.Time) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		got, last := rcv.count()
		res.Delivered = got
		if got >= res.Events {
			res.CatchUp = max(last.Sub(stormEnd), 0)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the receiver has %d of %d events after 10 minutes", got, res.Events)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var err error
	if res.Requests, res.OutOfOrder, err = rcv.verify(); err != nil {
		return fmt.Errorf("the receiver: %w", err)
	}
	return nil
}
