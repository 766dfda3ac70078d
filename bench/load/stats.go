package load

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms record microseconds from 1µs to 60s with 3 significant
// figures: HdrHistogram keeps the tail exact enough for p999 and max at a
// fixed memory cost, and its snapshots merge across processes.
const (
	histMin    = 1
	histMax    = int64(60 * time.Second / time.Microsecond)
	histDigits = 3
)

// NewHistogram makes a histogram of microseconds in the fleet's range.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// hist is a histogram many client goroutines record into.
type hist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newHist() *hist { return &hist{h: NewHistogram()} }

func (h *hist) record(d time.Duration) {
	us := max(int64(d/time.Microsecond), histMin)
	h.mu.Lock()
	_ = h.h.RecordValue(min(us, histMax))
	h.mu.Unlock()
}

func (h *hist) snapshot() *hdrhistogram.Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.Export()
}

// counters are the fleet's running totals, bumped by client goroutines.
type counters struct {
	started         atomic.Int64 // connections attempted by ramps
	handshakes      atomic.Int64 // ramp handshakes that reached 140
	registered      atomic.Int64 // clients registered right now
	keepAlives      atomic.Int64 // keep-alives echoed
	probeSamples    atomic.Int64 // probe round trips measured
	probesPending   atomic.Int64 // probes waiting for their 190
	probesFresh     atomic.Int64 // ramp probes before their first keep-alive (see session.fresh)
	probeReconnects atomic.Int64 // probe handshakes after a measurement
	shutdownOrders  atomic.Int64 // "130 shutdown" received
	shutdownAcks    atomic.Int64 // "130 ok" written
	closedAfterAck  atomic.Int64 // server closed after our "130 ok"
	lastAck         atomic.Int64 // unix ns of the latest "130 ok" written
	lastClose       atomic.Int64 // unix ns of the latest close after an ack
	firstOrder      atomic.Int64 // unix ns of the earliest 130 received
	firstKeepAlive  atomic.Int64 // unix ns of the earliest keep-alive echoed
	probePhases     [PhaseBins]atomic.Int64
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// earliest is the earlier of two unix times, 0 meaning none.
func earliest(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func storeMin(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if (old != 0 && v >= old) || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// errorCounts counts errors by kind (see kinds.go).
type errorCounts struct {
	mu sync.Mutex
	m  map[string]int64
}

func (e *errorCounts) add(kind string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = make(map[string]int64)
	}
	e.m[kind]++
	e.mu.Unlock()
}

func (e *errorCounts) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.m)
}

// Stats is a fleet's state at one moment: totals since it started and the
// histograms so far. It is plain data, so a worker process can send it to
// the harness as JSON, and Merge adds fleets together.
type Stats struct {
	Started      int64 `json:"started"`
	Handshakes   int64 `json:"handshakes"`
	Registered   int64 `json:"registered"`
	KeepAlives   int64 `json:"keepalives"`
	ProbeSamples int64 `json:"probe_samples"`
	// ProbesPending counts probes between their duplicate echo and their
	// next registration.
	ProbesPending int64 `json:"probes_pending"`
	// ProbesFresh counts ramp probes registered whose first keep-alive,
	// where one off its slot realigns (leaves and comes back), is still to
	// come; zero without Config.KeepAlive. Probes are settled when this
	// and ProbesPending are both zero.
	ProbesFresh     int64 `json:"probes_fresh"`
	ProbeReconnects int64 `json:"probe_reconnects"`
	// ProbePhases counts the samples by the part of the keep-alive interval
	// (of PhaseBins, on the Unix clock) their keep-alive arrived in; zero
	// without Config.KeepAlive.
	ProbePhases    [PhaseBins]int64 `json:"probe_phases"`
	ShutdownOrders int64            `json:"shutdown_orders"`
	ShutdownAcks   int64            `json:"shutdown_acks"`
	ClosedAfterAck int64            `json:"closed_after_ack"`
	// FirstOrder, LastAck and LastClose are unix nanoseconds (0: none yet);
	// processes on one machine share the clock, so they compare across fleets.
	FirstOrder int64 `json:"first_order_unix_ns"`
	// FirstKeepAlive is when the first keep-alive was echoed (unix ns, 0:
	// none yet): a burst's figures hold keep-alive CPU only if it falls
	// inside the burst's window.
	FirstKeepAlive int64 `json:"first_keepalive_unix_ns"`
	LastAck        int64 `json:"last_ack_unix_ns"`
	LastClose      int64 `json:"last_close_unix_ns"`
	// Errors counts what went wrong, by kind; empty when nothing did.
	Errors map[string]int64 `json:"errors,omitempty"`
	// Handshake is connect-start to "140 connected", ramp clients only.
	Handshake *hdrhistogram.Snapshot `json:"handshake_us"`
	// ProbeRTT is the probe method's keep-alive round trip.
	ProbeRTT *hdrhistogram.Snapshot `json:"probe_rtt_us"`
	// KeepAliveGap is the time between two keep-alives on one connection,
	// as the client sees it (the server's cadence: interval plus lateness).
	KeepAliveGap *hdrhistogram.Snapshot `json:"keepalive_gap_us"`
}

// ErrorTotal is the number of errors of every kind.
func (s Stats) ErrorTotal() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// Merge adds o into s: totals add, times take the extreme, histograms merge.
func (s *Stats) Merge(o Stats) {
	s.Started += o.Started
	s.Handshakes += o.Handshakes
	s.Registered += o.Registered
	s.KeepAlives += o.KeepAlives
	s.ProbeSamples += o.ProbeSamples
	s.ProbesPending += o.ProbesPending
	s.ProbesFresh += o.ProbesFresh
	s.ProbeReconnects += o.ProbeReconnects
	for i, n := range o.ProbePhases {
		s.ProbePhases[i] += n
	}
	s.ShutdownOrders += o.ShutdownOrders
	s.ShutdownAcks += o.ShutdownAcks
	s.ClosedAfterAck += o.ClosedAfterAck
	s.FirstOrder = earliest(s.FirstOrder, o.FirstOrder)
	s.FirstKeepAlive = earliest(s.FirstKeepAlive, o.FirstKeepAlive)
	s.LastAck = max(s.LastAck, o.LastAck)
	s.LastClose = max(s.LastClose, o.LastClose)
	for k, v := range o.Errors {
		if s.Errors == nil {
			s.Errors = make(map[string]int64)
		}
		s.Errors[k] += v
	}
	s.Handshake = mergeSnap(s.Handshake, o.Handshake)
	s.ProbeRTT = mergeSnap(s.ProbeRTT, o.ProbeRTT)
	s.KeepAliveGap = mergeSnap(s.KeepAliveGap, o.KeepAliveGap)
}

func mergeSnap(a, b *hdrhistogram.Snapshot) *hdrhistogram.Snapshot {
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	}
	h := hdrhistogram.Import(a)
	h.Merge(hdrhistogram.Import(b))
	return h.Export()
}

// Hist turns a snapshot back into a histogram (an empty one for nil).
func Hist(s *hdrhistogram.Snapshot) *hdrhistogram.Histogram {
	if s == nil {
		return NewHistogram()
	}
	return hdrhistogram.Import(s)
}

// Since returns the histogram of what was recorded between two snapshots of
// the same histogram (taken earlier and later), so a harness can look at one
// phase of a run. Both must come from NewHistogram's range.
func Since(earlier, later *hdrhistogram.Snapshot) *hdrhistogram.Snapshot {
	if later == nil {
		return nil
	}
	if earlier == nil || len(earlier.Counts) != len(later.Counts) {
		return later
	}
	out := *later
	out.Counts = make([]int64, len(later.Counts))
	for i := range later.Counts {
		out.Counts[i] = max(later.Counts[i]-earlier.Counts[i], 0)
	}
	return &out
}
