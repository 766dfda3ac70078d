package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"
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
	// Features are what the server runs with beyond connections (see
	// AllSoakFeatures); empty: none, the 2026-11-25 soaks' server.
	Features []string `json:"features,omitempty"`
	// EventRetention is the server's --event-retention with FeatureEvents.
	EventRetention int        `json:"event_retention,omitempty"`
	Limits         SoakLimits `json:"limits"`
	// Load is the steady clients' shape (keep-alive, timeouts, load
	// processes); only its load and server fields are used.
	Load Settings `json:"load"`
}

// DefaultSoak is `cliser-bench soak` with no flags: every feature on, as
// on a fleet.
func DefaultSoak() SoakSettings {
	return SoakSettings{Clients: 2000, Duration: 2 * time.Minute, ChurnRate: 200,
		SampleEvery: 2 * time.Second, Retention: 10 * time.Second, Load: Quick(),
		Features: slices.Clone(AllSoakFeatures), EventRetention: DefaultEventRetention}
}

// withDefaults fills what follows from Clients. With flapping control on
// the pool is half the clients: a tenth (at most 500) at 200 operations a
// second re-registers each pool id 16 times a minute, which is flapping
// by IDENTITY.md's rule; half of 5,000 is 3.2 times a minute.
func (s SoakSettings) withDefaults() SoakSettings {
	switch {
	case s.Pool > 0:
	case s.has(FeatureFlapping):
		s.Pool = max(1, s.Clients/2)
	default:
		s.Pool = max(1, min(s.Clients/10, 500))
	}
	if s.Limits == (SoakLimits{}) {
		s.Limits = DefaultSoakLimits(s.Clients)
	}
	if s.SampleEvery <= 0 {
		s.SampleEvery = 2 * time.Second
	}
	if s.has(FeatureEvents) && s.EventRetention <= 0 {
		s.EventRetention = DefaultEventRetention
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

	// With the soak's features:
	Enrolled int         `json:"credentials_enrolled,omitempty"` // every steady and pool id, before the server started
	Webhook  *SinkCounts `json:"webhook,omitempty"`              // what the harness's receiver took
	// BusiestID is the most registrations of one pool id within the
	// flapping window, by the harness's count.
	BusiestID int64 `json:"busiest_pool_id_registrations,omitempty"`
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
	k := &soakRun{s: s, progress: env.Progress, steady: s.Clients - s.Pool,
		res: &SoakResult{Settings: s, Machine: ThisMachine(), Started: time.Now().UTC()}}
	res := k.res
	srv, err := k.startServer(ctx, env)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := stopServer(srv); err != nil {
			res.Problems = append(res.Problems, "stopping the server: "+err.Error())
		}
	}()

	r := &runner{kind: KindCliser, set: s.Load, env: env, srv: srv, res: &Result{}}
	if s.has(FeatureIdentity) {
		r.kind = KindCliserTrust // its load answers each client's own secret
	}
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
	sampler := soakSampler{pid: srv.PID(), metrics: srv.admin.Base() + "/metrics", dataDir: cliserData(env.WorkDir),
		features: len(s.Features) > 0}
	k.churnAndSample(ctx, ch, sampler)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	k.end(ctx, ch, sampler, fl, srv.sink)
	k.endFeatures(srv.sink, ch)
	return res, nil
}

// churnInFlight is the most churn operations at once.
const churnInFlight = 64

// runChurn starts rate operations a second until ctx ends, at most
// churnInFlight at once; an operation that finds them all busy waits.
func runChurn(ctx context.Context, ch *churner, rate float64) {
	if rate <= 0 {
		<-ctx.Done()
		return
	}
	sem := make(chan struct{}, churnInFlight)
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

// soakEnd waits (up to 15s) for every client to be connected and, with a
// webhook (received: the receiver's newest seq), for its receiver to have
// every event, then samples. The lag alone said caught up while the last
// events were still on their way: a scrape read it before they were in
// the log and the log's newest after (the receiver had 364 of 366).
func soakEnd(ctx context.Context, sm soakSampler, clients int, received func() int64) (SoakSample, int) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := sm.sample(ctx)
		done := s.Connected >= clients && (received == nil || (s.WebhookLag == 0 && received() >= s.EventsNewest))
		if err == nil && (done || time.Now().After(deadline)) {
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
			ch.register(s)
		}
		s.mu.Unlock()
	}
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
