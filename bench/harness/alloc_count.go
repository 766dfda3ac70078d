package harness

import (
	"context"
	"errors"
)

// AllocCount is what a server's Go heap allocated and how many GC cycles
// it ran over a window of handshakes, read off its Go collector at both
// ends: counts that other processes on the machine do not move, where its
// CPU per handshake is noisy. The window holds one /metrics scrape of
// cliser's own (44-360 KB when measured: at most 36 B a handshake over
// 10,000).
type AllocCount struct {
	Handshakes        int64   `json:"handshakes"`
	Bytes             float64 `json:"alloc_bytes"`
	GCCycles          float64 `json:"gc_cycles"`
	BytesPerHandshake float64 `json:"alloc_bytes_per_handshake"`
	GCPer1000         float64 `json:"gc_cycles_per_1000_handshakes"`
}

// The Go collector's cumulative figures (client_golang's default set, which
// cliser's admin and floor-server both register).
const (
	metricAllocBytes = "go_memstats_alloc_bytes_total"
	metricGCPauses   = "go_gc_duration_seconds" // a summary: its count is the GC cycles
)

// allocMark is the cumulative figures at one end of a window.
type allocMark struct {
	bytes, gc float64
}

// errNoGoMetrics is a server without a Go collector of its own.
var errNoGoMetrics = errors.New("no Go collector")

func readAllocMark(ctx context.Context, url string) (allocMark, error) {
	if url == "" {
		return allocMark{}, errNoGoMetrics
	}
	pg, err := scrapeProm(ctx, url)
	if err != nil {
		return allocMark{}, err
	}
	v, err := pg.gauges(metricAllocBytes)
	if err != nil {
		return allocMark{}, err
	}
	gc, err := pg.summaryCount(metricGCPauses)
	if err != nil {
		return allocMark{}, err
	}
	return allocMark{bytes: v[0], gc: gc}, nil
}

// HoldAlloc is what the server's Go heap allocated and the GC cycles it
// ran over the hold: whether a GC cycle landed in a hold is a count the
// machine's other load does not move, beside an RTT tail it does.
type HoldAlloc struct {
	Bytes             float64 `json:"alloc_bytes"`
	GCCycles          float64 `json:"gc_cycles"`
	BytesPerKeepAlive float64 `json:"alloc_bytes_per_keepalive"`
}

// markWindow reads the server's cumulative figures now and returns what
// reads them again and gives the window's difference: false for a server
// without a Go collector, or a failed read (a problem of the run).
func (r *runner) markWindow(ctx context.Context, what string) func() (allocMark, bool) {
	url := goMetricsOf(r.srv)
	none := func() (allocMark, bool) { return allocMark{}, false }
	if url == "" {
		return none
	}
	m0, err := readAllocMark(ctx, url)
	if err != nil {
		r.problem("%s: allocations: %v", what, err)
		return none
	}
	return func() (allocMark, bool) {
		m1, err := readAllocMark(ctx, url)
		if err != nil {
			r.problem("%s: allocations: %v", what, err)
			return allocMark{}, false
		}
		return allocMark{bytes: m1.bytes - m0.bytes, gc: m1.gc - m0.gc}, true
	}
}

// allocWindow counts a window's allocations: start it before the
// handshakes, and call what it returns with their number once their work
// (the closes, the flushes) is done. Nil for a server without a Go
// collector; a failed read is a problem and leaves the count nil.
func (r *runner) allocWindow(ctx context.Context, what string) func(handshakes int64) *AllocCount {
	end := r.markWindow(ctx, what)
	return func(handshakes int64) *AllocCount {
		d, ok := end()
		if !ok {
			return nil
		}
		c := &AllocCount{Handshakes: handshakes, Bytes: d.bytes, GCCycles: d.gc}
		if handshakes > 0 {
			c.BytesPerHandshake = c.Bytes / float64(handshakes)
			c.GCPer1000 = 1000 * c.GCCycles / float64(handshakes)
		}
		r.say("%s: allocated %.0f B a handshake, %.2f GC cycles a 1,000 (%d handshakes)", what, c.BytesPerHandshake, c.GCPer1000, handshakes)
		return c
	}
}

// holdAlloc is the hold's count from its window d and the keep-alives
// answered in it.
func holdAlloc(d allocMark, keepAlives int64) *HoldAlloc {
	h := &HoldAlloc{Bytes: d.bytes, GCCycles: d.gc}
	if keepAlives > 0 {
		h.BytesPerKeepAlive = d.bytes / float64(keepAlives)
	}
	return h
}
