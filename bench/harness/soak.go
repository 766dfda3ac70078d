package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/procfs"
)

// SoakSettings are a soak's shape: Clients held for Duration while
// ChurnRate operations a second reconnect, take over and add clients.
type SoakSettings struct {
	Clients     int           `json:"clients"`
	Duration    time.Duration `json:"duration"`
	ChurnRate   float64       `json:"churn_rate_per_s"`
	Pool        int           `json:"churn_pool"` // of Clients, the ones the churn reconnects and takes over
	SampleEvery time.Duration `json:"sample_every"`
	// Retention is the server's --retention: how long the record of a
	// disconnected client is kept. Every brand-new id leaves a record, so
	// with the server's default (30 days) the registry grows by design;
	// the registry prunes at its checkpoint (every minute). 0 keeps the
	// server's default.
	Retention time.Duration `json:"retention"`
	Limits    SoakLimits    `json:"limits"`
	// Load is the steady clients' shape (keep-alive, timeouts, load
	// processes); only its load and server fields are used.
	Load Settings `json:"load"`
}

// DefaultSoak is `cliser-bench soak` with no flags.
func DefaultSoak() SoakSettings {
	return SoakSettings{Clients: 2000, Duration: 2 * time.Minute, ChurnRate: 200,
		SampleEvery: 2 * time.Second, Retention: 10 * time.Second, Load: Quick()}
}

// withDefaults fills what follows from Clients.
func (s SoakSettings) withDefaults() SoakSettings {
	if s.Pool <= 0 {
		s.Pool = max(1, min(s.Clients/10, 500))
	}
	if s.Limits == (SoakLimits{}) {
		s.Limits = DefaultSoakLimits(s.Clients)
	}
	if s.SampleEvery <= 0 {
		s.SampleEvery = 2 * time.Second
	}
	return s
}

// SoakResult is what a soak saw.
type SoakResult struct {
	Settings  SoakSettings     `json:"settings"`
	Machine   Machine          `json:"machine"`
	Started   time.Time        `json:"started"`
	Samples   []SoakSample     `json:"samples"`
	Ops       map[string]int64 `json:"churn_ops"`
	Takeovers int64            `json:"takeovers_seen"` // older connections told "190 replaced"
	Expected  map[string]int64 `json:"expected_closes"`
	Errors    map[string]int64 `json:"errors"` // unexpected, by kind: steady clients' and the churn's
	Verdict   Flatness         `json:"verdict"`
	End       SoakSample       `json:"end"`  // after the churn stopped and the pool reconnected
	Lost      int              `json:"lost"` // clients connected at the end short of Clients
	Problems  []string         `json:"problems,omitempty"`
}

// OK is the soak's pass: flat, nothing lost, no unexpected error.
func (r *SoakResult) OK() bool {
	return r.Verdict.Flat && r.Lost == 0 && sumErrors(r.Errors) == 0 && len(r.Problems) == 0
}

// ChurnOps is the operations done.
func (r *SoakResult) ChurnOps() int64 { return sumErrors(r.Ops) }

// Soak runs `cliser serve`, holds s.Clients connected (s.Pool of them in
// the churn's pool, the rest in the load engine), runs the churn for
// s.Duration while it samples the server, and judges the samples.
func Soak(ctx context.Context, s SoakSettings, env Env) (*SoakResult, error) {
	s = s.withDefaults()
	if s.Clients <= s.Pool {
		return nil, fmt.Errorf("soak: %d clients leave none beside a churn pool of %d", s.Clients, s.Pool)
	}
	if env.Progress == nil {
		env.Progress = io.Discard
	}
	srv, err := startSoakServer(ctx, s, env)
	if err != nil {
		return nil, err
	}
	k := &soakRun{s: s, progress: env.Progress, steady: s.Clients - s.Pool,
		res: &SoakResult{Settings: s, Machine: ThisMachine(), Started: time.Now().UTC()}}
	res := k.res
	defer func() {
		if err := stopServer(srv); err != nil {
			res.Problems = append(res.Problems, "stopping the server: "+err.Error())
		}
	}()

	r := &runner{kind: KindCliser, set: s.Load, env: env, srv: srv, res: &Result{}}
	fl, _, err := r.startFleet(ctx, k.steady, 0, netOf(40))
	if err != nil {
		return nil, err
	}
	defer k.closeLoad(fl)
	k.say("ramping %d steady clients", k.steady)
	if err := fl.Ramp(ctx, k.steady, s.Load.Rate); err != nil {
		return nil, err
	}
	ch := k.fillPool(srv)
	sampler := soakSampler{pid: srv.PID(), metrics: srv.admin.Base() + "/metrics", dataDir: filepath.Join(env.WorkDir, "cliser-data")}
	k.churnAndSample(ctx, ch, sampler)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	k.end(ctx, ch, sampler, fl)
	return res, nil
}

// runChurn starts rate operations a second until ctx ends, at most
// inFlight at once; an operation that finds them all busy waits.
func runChurn(ctx context.Context, ch *churner, rate float64) {
	if rate <= 0 {
		<-ctx.Done()
		return
	}
	const inFlight = 64
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	for i := 0; ; i++ {
		if err := sleepCtx(ctx, time.Until(start.Add(time.Duration(float64(i)/rate*float64(time.Second))))); err != nil {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() { defer func() { <-sem }(); ch.op() })
	}
}

// soakEnd waits (up to 15s) for every client to be connected, then samples.
func soakEnd(ctx context.Context, sm soakSampler, clients int) (SoakSample, int) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := sm.sample(ctx)
		if err == nil && (s.Connected >= clients || time.Now().After(deadline)) {
			return s, max(clients-s.Connected, 0)
		}
		if err != nil && time.Now().After(deadline) {
			return s, clients
		}
		if sleepCtx(ctx, 200*time.Millisecond) != nil {
			return s, max(clients-s.Connected, 0)
		}
	}
}

// refill reconnects the pool clients whose connection is gone (an
// operation whose connect failed leaves its slot empty).
func (ch *churner) refill() {
	for _, s := range ch.pool {
		s.mu.Lock()
		if s.c == nil {
			s.c = ch.connect(s.id)
		}
		s.mu.Unlock()
	}
}

// soakSampler reads the server's /proc and /metrics.
type soakSampler struct {
	pid     int
	metrics string
	dataDir string
}

func (s soakSampler) sample(ctx context.Context) (SoakSample, error) {
	var out SoakSample
	p, err := sampleProc(s.pid)
	if err != nil {
		return out, err
	}
	out.RSS = p.RSS
	out.RSSAnon, out.RSSFile = procfs.RSS(s.pid)
	out.DataBytes = dirBytes(s.dataDir)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	if err != nil {
		return out, err
	}
	out.FDs = len(fds)
	g, err := scrapeGauges(ctx, s.metrics, "go_goroutines", admin.MetricClientsConnected, "go_memstats_heap_inuse_bytes")
	if err != nil {
		return out, err
	}
	out.Goroutines, out.Connected, out.HeapInuse = int(g[0]), int(g[1]), int64(g[2])
	return out, nil
}

func mergeCounts(a, b map[string]int64) map[string]int64 {
	if a == nil {
		a = map[string]int64{}
	}
	for k, v := range b {
		a[k] += v
	}
	return a
}

// dirBytes is the size of the files in dir (not recursive).
func dirBytes(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}
