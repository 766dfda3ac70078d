package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/bench/benchserver"
	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/internal/cpuprofile"
	"github.com/cliser/cliser/internal/freeport"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// Server kinds the harness runs.
const (
	KindCliser   = "cliser"        // `cliser serve`, a subprocess
	KindBaseline = "baseline"      // baseline-bench-server, a subprocess
	KindInproc   = "cliser-inproc" // cliser's reactor inside the harness
)

// ShutdownText is the operator text of the broadcast (the servers of
// package benchserver send the same).
const ShutdownText = benchserver.ShutdownText

// server is a running server under test.
type server interface {
	Addr() string
	PID() int
	// Shutdown orders "130 shutdown" to every connected client and says
	// to how many; the clients' acks are the fleet's to count.
	Shutdown(ctx context.Context) (int, error)
	// RTT is the server's own keep-alive RTT so far, when it keeps one.
	RTT(ctx context.Context) (serverRTT, error)
	Stop(ctx context.Context) error
}

// serverRTT is a server-clock RTT record: an exact histogram (in-process)
// or Prometheus buckets (cliser's /metrics, the floor's copy of it).
type serverRTT struct {
	Hist    *hdrhistogram.Snapshot
	Buckets *promHistogram
}

// ServerOptions is what every server kind is started with.
type ServerOptions struct {
	Password         string
	KeepAlive        time.Duration
	KeepAliveTimeout time.Duration
	HandshakeTimeout time.Duration
	CliserBin        string // for KindCliser
	BaselineBin      string // for KindBaseline
	FloorBin         string // for KindFloor
	WorkDir          string // data dir and logs
	External         *External
	// HeapSampling, for the in-process server, is runtime.MemProfileRate.
	HeapSampling int
	// Tick, for the in-process server, overrides the reactor's timing-wheel
	// resolution (reactor.WithTick), to measure what it does to keep-alive
	// bursts. 0 keeps the reactor's default.
	Tick time.Duration
	// Credentials, for KindCliserTrust, is how many client IDs to enroll
	// (the load's, from its first).
	Credentials int
	// Args are more flags for a subprocess: `cliser serve`'s (the soak's
	// --retention), floor-server's --metrics-listen.
	Args []string
	// Flapping leaves `cliser serve`'s flapping control at its defaults
	// (the soak's FeatureFlapping); else it is off.
	Flapping bool
	// CPUs, for a subprocess, are the CPUs it runs on (Settings.ServerCPUs);
	// empty: all.
	CPUs CPUSet
	// CPUProfile, for a subprocess, is where its profile hook writes
	// (internal/cpuprofile); empty: no hook armed.
	CPUProfile string
}

// External is a server the harness did not start: it loads it and reads
// /proc/PID, but cannot order a shutdown or stop it.
type External struct {
	Addr string
	PID  int
}

type externalServer struct{ External }

func (s externalServer) Addr() string { return s.External.Addr }
func (s externalServer) PID() int     { return s.External.PID }
func (s externalServer) Shutdown(context.Context) (int, error) {
	return 0, errors.New("no shutdown trigger for a server the harness did not start")
}
func (s externalServer) RTT(context.Context) (serverRTT, error) { return serverRTT{}, nil }
func (s externalServer) Stop(context.Context) error             { return nil }

func startServer(ctx context.Context, kind string, o ServerOptions) (server, error) {
	if o.External != nil {
		return externalServer{*o.External}, nil
	}
	switch kind {
	case KindCliser, KindCliserEvents, KindCliserTrust:
		if err := freshData(o.WorkDir); err != nil {
			return nil, err
		}
	}
	switch kind {
	case KindCliser:
		o.Args = append(o.Args, eventsOff...)
		return startCliser(ctx, o)
	case KindCliserEvents:
		return startCliserEventsRef(ctx, o)
	case KindCliserTrust:
		return startCliserTrust(ctx, o)
	case KindBaseline:
		return startBaseline(ctx, o)
	case KindInproc:
		return startInproc(o)
	case KindFloor:
		return startFloor(ctx, o)
	}
	return nil, fmt.Errorf("unknown server kind %q (want %s, %s, %s, %s, %s or %s)", kind, KindCliser, KindCliserEvents, KindCliserTrust, KindFloor, KindBaseline, KindInproc)
}

// --- subprocesses ---

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the wait's result, after exited
	log    string
}

func startProc(bin string, args []string, logPath string, stdout io.Writer, o ServerOptions) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), "CLISER_PASSWORD="+o.Password)
	if o.CPUProfile != "" {
		cmd.Env = append(cmd.Env, cpuprofile.Env+"="+o.CPUProfile)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	cmd.Stdout = stdout
	if err := startOn(cmd, o.CPUs); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// cleanEnv is the environment without CLISER_ settings, so that a user's
// shell cannot change what the benchmark measures.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLISER_") {
			out = append(out, kv)
		}
	}
	return out
}

func (p *proc) PID() int { return p.cmd.Process.Pid }

// process is what the profiled burst signals (burst_profile.go).
func (p *proc) process() *os.Process { return p.cmd.Process }

// stop sends SIGTERM and waits; past ctx it kills.
func (p *proc) stop(ctx context.Context) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop in time; killed", filepath.Base(p.cmd.Path))
	}
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

type cliserProc struct {
	*proc
	addr  string
	admin *admin.Client
}

// freshData empties the cliser data dir under workDir: each run measures a
// server that starts empty. Kept, the next run (the next round, or
// cliser+events after cliser) loaded the last run's 19,000 records, and its
// RSS per client, a slope from its first plateau, came out near zero.
func freshData(workDir string) error {
	return os.RemoveAll(cliserData(workDir))
}

func cliserData(workDir string) string { return filepath.Join(workDir, "cliser-data") }

func startCliser(ctx context.Context, o ServerOptions) (*cliserProc, error) {
	addr, err := freeport.Loopback()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freeport.Loopback()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", addr, "--admin-listen", adminAddr,
		"--data-dir", cliserData(o.WorkDir),
		"--keepalive-interval", o.KeepAlive.String(), "--keepalive-timeout", o.KeepAliveTimeout.String(),
		"--handshake-timeout", o.HandshakeTimeout.String(),
		// Per-connection logs are an operator's choice; the baseline logs
		// nothing per connection, so neither does cliser here.
		"--log-level", "warn", "--log-format", "console"}
	if !o.Flapping {
		// The harness reconnects the same client IDs over and over (bursts,
		// churn, takeovers): flapping by IDENTITY.md's rule, which would
		// ban them. It measures handshakes, not flapping control.
		args = append(args, "--flap-limit", "0")
	}
	args = append(args, o.Args...)
	p, err := startProc(o.CliserBin, args, filepath.Join(o.WorkDir, "cliser.log"), io.Discard, o)
	if err != nil {
		return nil, err
	}
	ac, err := admin.NewClient(adminAddr, "", 30*time.Second)
	if err != nil {
		return nil, errors.Join(err, p.stop(ctx))
	}
	s := &cliserProc{proc: p, addr: addr, admin: ac}
	deadline := time.Now().Add(15 * time.Second)
	for ac.Probe(ctx, "/readyz") != nil {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("cliser serve exited at start: %v\n%s", p.err, p.tail())
		default:
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("cliser serve not ready after 15s\n%s", p.tail()), p.stop(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s, nil
}

func (s *cliserProc) Addr() string { return s.addr }

func (s *cliserProc) Shutdown(ctx context.Context) (int, error) {
	r, err := s.admin.ShutdownAll(ctx, ShutdownText)
	return r.Sent, err
}

func (s *cliserProc) RTT(ctx context.Context) (serverRTT, error) {
	pg, err := scrapeProm(ctx, s.admin.Base()+"/metrics")
	if err != nil {
		return serverRTT{}, err
	}
	h, err := pg.histogram(admin.MetricKeepAliveRTT)
	return serverRTT{Buckets: h}, err
}

func (s *cliserProc) Stop(ctx context.Context) error { return s.stop(ctx) }

// goMetrics is the page where the server serves the Go collector.
func (s *cliserProc) goMetrics() string { return s.admin.Base() + "/metrics" }

// plateauHeap is the server's Go heap at a plateau, from its collector.
type plateauHeap struct {
	inuse int64 // spans with at least one object, live or not yet swept
	// idleKept is heap the last collections freed and the scavenger has
	// not yet returned (heap_idle - heap_released): resident, counted in
	// the RSS, in no span. The scavenger keeps what stays under ~1.1x the
	// heap goal, which the last GC cycle set.
	idleKept int64
	goal     int64 // next_gc: the heap size at which the next cycle starts
}

// heapGauges are the Go collector's figures plateauHeap reads (admin/metrics.go
// and floor-server register it).
var heapGauges = []string{metricHeapInuse, "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_next_gc_bytes"}

func heapAt(ctx context.Context, url string) (plateauHeap, error) {
	v, err := scrapeGauges(ctx, url, heapGauges...)
	if err != nil {
		return plateauHeap{}, err
	}
	return plateauHeap{inuse: int64(v[0]), idleKept: int64(v[1] - v[2]), goal: int64(v[3])}, nil
}

// metricHeapInuse is the Go collector's heap in use.
const metricHeapInuse = "go_memstats_heap_inuse_bytes"

// heap reads the server's heap at a plateau; zero for a server that does
// not serve it. A failed read is a problem, and the slopes are then not
// fitted.
func (r *runner) heap(ctx context.Context) plateauHeap {
	url := goMetricsOf(r.srv)
	if url == "" {
		return plateauHeap{}
	}
	h, err := heapAt(ctx, url)
	if err != nil {
		r.problem("heap in use: %v", err)
	}
	return h
}

// goMetricsOf is the page of srv's Go collector; "" for a server without
// one (the baseline, and the in-process server, whose runtime is the
// harness's too).
func goMetricsOf(srv server) string {
	if g, ok := srv.(interface{ goMetrics() string }); ok {
		return g.goMetrics()
	}
	return ""
}

type baselineProc struct {
	*proc
	addr string
	out  *bufio.Reader
	mu   sync.Mutex // one trigger at a time: its answer is the next line
}

func startBaseline(ctx context.Context, o ServerOptions) (*baselineProc, error) {
	return startSignalled(ctx, o.BaselineBin, "baseline", o)
}

// startSignalled starts a server with baseline-bench-server's contract
// (floor-server has it too): flags, the "listening on" line, SIGUSR1.
func startSignalled(ctx context.Context, bin, name string, o ServerOptions) (*baselineProc, error) {
	args := []string{"--listen", "127.0.0.1:0",
		"--keepalive-interval", o.KeepAlive.String(), "--keepalive-timeout", o.KeepAliveTimeout.String(),
		"--handshake-timeout", o.HandshakeTimeout.String()}
	args = append(args, o.Args...)
	pr, pw := io.Pipe()
	p, err := startProc(bin, args, filepath.Join(o.WorkDir, name+".log"), pw, o)
	if err != nil {
		return nil, err
	}
	go func() { <-p.exited; _ = pw.Close() }()
	s := &baselineProc{proc: p, out: bufio.NewReader(pr)}
	first := make(chan string, 1)
	go func() { line, _ := s.out.ReadString('\n'); first <- line }()
	select {
	case line := <-first:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
		if !ok {
			return nil, errors.Join(fmt.Errorf("%s: first line %q, want \"listening on HOST:PORT\"\n%s", name, line, p.tail()), p.stop(ctx))
		}
		s.addr = addr
		return s, nil
	case <-time.After(15 * time.Second):
		return nil, errors.Join(fmt.Errorf("%s: no listening line in 15s", name), p.stop(ctx))
	}
}

func (s *baselineProc) Addr() string { return s.addr }

func (s *baselineProc) Shutdown(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return 0, err
	}
	got := make(chan string, 1)
	go func() { line, _ := s.out.ReadString('\n'); got <- line }()
	select {
	case line := <-got:
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "shutdown sent "))
		if err != nil {
			return 0, fmt.Errorf("baseline: trigger answered %q", line)
		}
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (s *baselineProc) RTT(context.Context) (serverRTT, error) { return serverRTT{}, nil }

func (s *baselineProc) Stop(ctx context.Context) error { return s.stop(ctx) }

// --- in-process ---

// inprocServer is cliser's reactor in this process, with an observer that
// records the server-clock keep-alive RTT exactly. Its RSS and CPU include
// the harness, so the comparison uses the subprocess runs; this one gives
// the RTT on the server's own clock and the CPU profile.
type inprocServer struct {
	srv *reactor.Server
	api *admin.API
	obs *rttObserver
}

type rttObserver struct {
	reactor.Observer // the no-op rest comes from admin's metrics
	mu               sync.Mutex
	h                *hdrhistogram.Histogram
}

func (o *rttObserver) KeepAliveRTT(d time.Duration) {
	us := max(int64(d/time.Microsecond), 1)
	o.mu.Lock()
	_ = o.h.RecordValue(us)
	o.mu.Unlock()
}

func startInproc(o ServerOptions) (*inprocServer, error) {
	if o.HeapSampling > 0 {
		// Fine enough to see each per-client allocation in the heap
		// profile; set before the server allocates anything.
		runtime.MemProfileRate = o.HeapSampling
	}
	reg := registry.New()
	metrics := admin.NewMetrics(reg)
	obs := &rttObserver{Observer: metrics, h: load.NewHistogram()}
	opts := []reactor.Option{
		reactor.WithAddr("127.0.0.1:0"),
		reactor.WithPasswords([][]byte{[]byte(o.Password)}),
		reactor.WithKeepAlive(o.KeepAlive, o.KeepAliveTimeout),
		reactor.WithHandshakeTimeout(o.HandshakeTimeout),
		reactor.WithObserver(obs),
	}
	if o.Tick > 0 {
		opts = append(opts, reactor.WithTick(o.Tick))
	}
	srv, err := reactor.New(reg, opts...)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	// The same wiring as `cliser serve`: the broadcast is the reactor's
	// per-loop ShutdownAll.
	api := admin.New(reg, admin.WithReady(srv.Ready), admin.WithMetrics(metrics), admin.WithBroadcast(srv.ShutdownAll))
	return &inprocServer{srv: srv, api: api, obs: obs}, nil
}

func (s *inprocServer) Addr() string { return s.srv.Addr() }
func (s *inprocServer) PID() int     { return os.Getpid() }

func (s *inprocServer) Shutdown(context.Context) (int, error) {
	r, err := s.api.ShutdownAll(ShutdownText) // what POST /v1/shutdown runs
	return r.Sent, err
}

func (s *inprocServer) RTT(context.Context) (serverRTT, error) {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return serverRTT{Hist: s.obs.h.Export()}, nil
}

func (s *inprocServer) Stop(ctx context.Context) error { return s.srv.Stop(ctx) }
