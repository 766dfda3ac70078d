package harness

import (
	"math"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cliser/cliser/bench/load"
)

// Result is one server's run.
type Result struct {
	Server   string   `json:"server"`
	Clients  int      `json:"clients"` // the top stage
	Workers  int      `json:"load_processes"`
	Stages   []Stage  `json:"stages"`
	Series   []Point  `json:"rss_series"` // RSS against registered clients, sampled through the run
	Problems []string `json:"problems,omitempty"`

	// Handshakes over every ramp: wall-clock rate, and per second of the
	// server's CPU (ramp CPU less the idle keep-alive CPU of the clients
	// already there, at the previous plateau's rate).
	Handshakes       int64       `json:"handshakes"`
	HandshakeRate    float64     `json:"handshakes_per_s"`
	HandshakeCPU     float64     `json:"handshake_cpu_s"`
	HandshakesPerCPU float64     `json:"handshakes_per_cpu_s"`
	Handshake        Percentiles `json:"handshake_latency_ms"`
	// RampAlloc is the server's Go allocations and GC cycles from the
	// first ramp's start to the top plateau's read: the ramps, and the
	// plateaus' settles (their keep-alives) and heap reads.
	RampAlloc *AllocCount `json:"stages_alloc,omitempty"`

	// Burst is the handshake burst on the empty server, when it ran.
	Burst Burst `json:"burst"`
	// ProfiledBurst is the bursts run after the measured ones under the
	// server's CPU profile (Settings.ProfileRounds of them).
	ProfiledBurst ProfiledBurst `json:"profiled_burst,omitzero"`

	// RSS per idle registered client: the slope between two plateaus.
	RSSPerClient float64 `json:"rss_bytes_per_client"`
	SlopeFrom    int64   `json:"slope_from_clients"`
	SlopeTo      int64   `json:"slope_to_clients"`
	// RSSPerClientEnds is the same slope from the two end plateaus alone.
	RSSPerClientEnds float64 `json:"rss_bytes_per_client_end_points"`
	// HeapPerClient is the same least-squares slope of the Go heap in use
	// (the server's go_memstats_heap_inuse_bytes at each plateau), for a
	// server that serves it: what of the RSS slope is heap the clients'
	// data and garbage occupy, the rest being the heap's headroom returned
	// or not to the OS, stacks and the runtime's own.
	HeapPerClient float64 `json:"heap_inuse_bytes_per_client,omitempty"`
	// HeapIdleKeptPerClient is the same slope of the heap freed and not
	// yet returned to the OS: most of what lies beyond the heap in use.
	HeapIdleKeptPerClient float64 `json:"heap_idle_kept_bytes_per_client,omitempty"`
	// StartRSS is the server's RSS once it was ready, before any client:
	// what it holds from the start (KindCliserTrust: every credential),
	// which the slope between plateaus does not see.
	StartRSS int64 `json:"start_rss_bytes,omitempty"`
	// CredentialBytes is KindCliserTrust's own count of what its
	// credentials hold in RSS (cliser_credentials_resident_bytes) at the
	// top plateau: the figure "its credential included" adds
	// (CredentialMemory).
	CredentialBytes int64 `json:"credential_resident_bytes,omitempty"`

	Idle Idle `json:"idle"`
	// HoldRounds are the interleaved keep-alive holds after the bursts
	// (hold_rounds.go), which the hold targets are judged on.
	HoldRounds []HoldRound `json:"hold_rounds,omitempty"`
	// Pinning is where the server and the load ran (pin.go).
	Pinning *Pinning `json:"pinning,omitempty"`

	KeepAliveGap Percentiles `json:"keepalive_gap_ms"`
	ProbeRTT     Percentiles `json:"probe_rtt_ms"`
	// ProbePhases counts the probe phase's samples by phase of the
	// keep-alive interval (load.Stats.ProbePhases).
	ProbePhases []int64      `json:"probe_phases,omitempty"`
	ServerRTT   *Percentiles `json:"server_rtt_ms,omitempty"`
	// ServerRTTMethod says where ServerRTT comes from.
	ServerRTTMethod string `json:"server_rtt_method,omitempty"`

	// Credentials is how many client IDs were enrolled, each client
	// answering its own secret (KindCliserTrust); WebhookRequests is what
	// the harness's sink took (KindCliserEvents and KindCliserTrust).
	Credentials     int   `json:"credentials,omitempty"`
	WebhookRequests int64 `json:"webhook_requests,omitempty"`

	Shutdown Shutdown         `json:"shutdown"`
	Errors   map[string]int64 `json:"errors,omitempty"`
	Profiles []string         `json:"profiles,omitempty"`
}

// Burst is handshakes alone: Handshakes opened as fast as the load goes on
// an empty server.
type Burst struct {
	Handshakes int64       `json:"handshakes"`
	Seconds    float64     `json:"seconds"`
	Rate       float64     `json:"handshakes_per_s"`
	ServerCPU  float64     `json:"server_cpu_s"` // TailCPU included
	TailCPU    float64     `json:"tail_cpu_s"`   // after the last handshake, net of idle (burst_tail.go)
	PerCPU     float64     `json:"handshakes_per_cpu_s"`
	LoadCPU    float64     `json:"load_cpu_s"`
	Latency    Percentiles `json:"latency_ms"`
	// Alloc is the server's Go allocations and GC cycles over the bursts,
	// their closes and settles (nil for a server without a Go collector);
	// interleaved, the other servers' bursts between them too, when this
	// one sat empty.
	Alloc *AllocCount `json:"alloc,omitempty"`
	// Rounds are the measured bursts one by one; the figures above are
	// their sums.
	Rounds []BurstRound `json:"rounds,omitempty"`
}

// BurstRound is one measured burst.
type BurstRound struct {
	Round      int       `json:"round"` // from 1
	At         time.Time `json:"at"`    // its start
	Handshakes int64     `json:"handshakes"`
	Seconds    float64   `json:"seconds"`
	ServerCPU  float64   `json:"server_cpu_s"` // TailCPU included
	TailCPU    float64   `json:"tail_cpu_s"`
	LoadCPU    float64   `json:"load_cpu_s"`
	// KeepAlives is how many keep-alives its clients answered before they
	// closed: none while each lives under a keep-alive interval.
	KeepAlives int64 `json:"keepalives"`
	// Counters tell what moved with its CPU (burst_counters.go).
	Counters BurstCounters `json:"counters"`
}

// Stage is one ramp and its plateau.
type Stage struct {
	Target      int     `json:"target"`
	Registered  int64   `json:"registered"`
	RampSeconds float64 `json:"ramp_s"`
	Handshakes  int64   `json:"handshakes"`
	RampCPU     float64 `json:"ramp_cpu_s"`
	RampLoadCPU float64 `json:"ramp_load_cpu_s"`     // the load processes' CPU during the ramp
	IdleCPU     float64 `json:"plateau_cpu_percent"` // server CPU while the plateau settled
	RSS         int64   `json:"plateau_rss_bytes"`
	HeapInuse   int64   `json:"plateau_heap_inuse_bytes,omitempty"` // go_memstats_heap_inuse_bytes, when served
	// HeapIdleKept is heap freed and not yet returned to the OS
	// (heap_idle - heap_released), HeapGoal the next GC's (next_gc),
	// when served: the RSS beyond the heap in use is mostly the first,
	// and the scavenger keeps it while under ~1.1x the second.
	HeapIdleKept int64 `json:"plateau_heap_idle_kept_bytes,omitempty"`
	HeapGoal     int64 `json:"plateau_heap_goal_bytes,omitempty"`
	Threads      int   `json:"plateau_threads"`
}

// Point is one RSS sample.
type Point struct {
	Seconds    float64 `json:"t_s"`
	Registered int64   `json:"registered"`
	RSS        int64   `json:"rss_bytes"`
}

// Idle is the hold at the top: every client registered and answering
// keep-alives, nothing else happening.
type Idle struct {
	Clients    int64   `json:"clients"`
	Seconds    float64 `json:"seconds"`
	CPUPercent float64 `json:"cpu_percent"` // of one core
	KeepAlives int64   `json:"keepalives"`
	RSS        int64   `json:"rss_bytes"`
	// What else ran: the load processes (CPU in % of one core, RSS), every
	// other process on the machine (other engineers' builds and tests
	// included), and the load average at the end.
	LoadCPUPercent   float64 `json:"load_cpu_percent"`
	LoadRSS          int64   `json:"load_rss_bytes"`
	OthersCPUPercent float64 `json:"others_cpu_percent"`
	LoadAvg          string  `json:"loadavg"`
	// ServerWaitPercent and LoadWaitPercent are the time the server's and
	// the load's threads were ready to run but waited for a CPU (their
	// schedstat runqueue wait, summed over threads), in % of the hold: the
	// scheduling share of the keep-alive RTT's tail.
	ServerWaitPercent float64 `json:"server_runqueue_wait_percent"`
	LoadWaitPercent   float64 `json:"load_runqueue_wait_percent"`
	// Alloc is the server's Go allocations and GC cycles over the hold
	// (nil: no Go collector): a GC cycle in a hold, where nothing but
	// keep-alives runs, is a candidate for its RTT tail.
	Alloc *HoldAlloc `json:"alloc,omitempty"`
}

// Shutdown is the broadcast: times are from the order (just before the
// harness asked the server) to the event, in milliseconds.
type Shutdown struct {
	Registered int64   `json:"registered_at_order"`
	Sent       int     `json:"sent"`
	Acked      int64   `json:"acked"`
	Closed     int64   `json:"closed_by_server"`
	FirstOrder float64 `json:"first_130_received_ms"`
	LastAck    float64 `json:"last_130_ok_sent_ms"`
	LastClose  float64 `json:"last_close_ms"`
	// ToAcks is the scheduler's account from the order until the harness
	// saw every ack: what the server and the load ran and waited for a CPU.
	ToAcks *ShutdownSched `json:"to_acks,omitempty"`
}

// ShutdownSched is the scheduler's times of the server and of the load
// processes over [the order, every ack seen], that window's length in
// milliseconds (the harness polls every 10 ms, so it ends up to one poll
// after the last ack).
type ShutdownSched struct {
	SeenMS float64   `json:"seen_ms"`
	Server SchedTime `json:"server"`
	Load   SchedTime `json:"load"`
}

// Percentiles summarises a latency histogram in milliseconds. UpperBound
// marks values read off histogram buckets: the true value is at or below.
// Interpolated is then the same quantiles interpolated inside their
// buckets (histogram_quantile's rule), which two servers' figures are
// compared on (ForRatio).
type Percentiles struct {
	Count        int64        `json:"count"`
	Mean         float64      `json:"mean"`
	P50          float64      `json:"p50"`
	P90          float64      `json:"p90"`
	P99          float64      `json:"p99"`
	P999         float64      `json:"p999"`
	Max          float64      `json:"max"`
	UpperBound   bool         `json:"upper_bound,omitempty"`
	Interpolated *Percentiles `json:"interpolated,omitempty"`
}

// ForRatio is p as it is set against another server's: interpolated
// inside the bucket when read off bounds, so that a ratio is not of two
// bounds (one bucket's step apart when the true values are closer, or
// equal when they are not); exact values otherwise. Both sides of a
// ratio are read the same way, since both are bucketed or both exact.
func (p Percentiles) ForRatio() Percentiles {
	if p.Interpolated != nil {
		return *p.Interpolated
	}
	return p
}

// FitSlope sets the RSS-per-client figures from the plateaus.
func (r *Result) FitSlope() {
	var pts []Stage
	for _, s := range r.Stages {
		if s.Target >= 2000 || len(pts) > 0 {
			pts = append(pts, s)
		}
	}
	if len(pts) < 2 && len(r.Stages) >= 2 {
		pts = r.Stages
	}
	if len(pts) < 2 {
		return
	}
	from, to := pts[0], pts[len(pts)-1]
	if to.Registered <= from.Registered {
		return
	}
	r.SlopeFrom, r.SlopeTo = from.Registered, to.Registered
	r.RSSPerClientEnds = float64(to.RSS-from.RSS) / float64(to.Registered-from.Registered)
	r.RSSPerClient = leastSquares(pts, func(s Stage) int64 { return s.RSS })
	if !slices.ContainsFunc(pts, func(s Stage) bool { return s.HeapInuse == 0 }) {
		r.HeapPerClient = leastSquares(pts, func(s Stage) int64 { return s.HeapInuse })
		r.HeapIdleKeptPerClient = leastSquares(pts, func(s Stage) int64 { return s.HeapIdleKept })
	}
}

// leastSquares is the slope of y against registered clients over pts.
func leastSquares(pts []Stage, y func(Stage) int64) float64 {
	var mx, my float64
	for _, p := range pts {
		mx += float64(p.Registered)
		my += float64(y(p))
	}
	n := float64(len(pts))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, p := range pts {
		dx := float64(p.Registered) - mx
		sxy += dx * (float64(y(p)) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

func percentilesOf(s *hdrhistogram.Snapshot) Percentiles {
	h := load.Hist(s)
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// percentilesOfBuckets reads h at its bucket bounds, and interpolated
// inside them; -1 for a quantile past the last bound.
func percentilesOfBuckets(h *promHistogram) Percentiles {
	read := func(at func(float64) float64) Percentiles {
		ms := func(q float64) float64 {
			v := at(q) * 1000
			if math.IsInf(v, 1) || math.IsNaN(v) {
				return -1
			}
			return v
		}
		p := Percentiles{Count: int64(h.Count), P50: ms(0.5), P90: ms(0.9), P99: ms(0.99), P999: ms(0.999), Max: ms(1)}
		if h.Count > 0 {
			p.Mean = h.Sum / h.Count * 1000
		}
		return p
	}
	p, in := read(h.quantile), read(h.within)
	p.UpperBound, p.Interpolated = true, &in
	return p
}

func msSince(t0 time.Time, unixNano int64) float64 {
	if unixNano == 0 {
		return -1
	}
	return float64(unixNano-t0.UnixNano()) / 1e6
}
