package webhook

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
)

// BenchmarkDeliverBacklog: the deliverer's time per event catching up a
// backlog (read from the real log, encode, sign, POST to a real receiver,
// and the cursor's two synced writes a batch, which bound it).
func BenchmarkDeliverBacklog(b *testing.B) {
	l, dir := tempLog(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := openCursor(b, dir, srv.URL)
	defer c.Close()
	if err := c.Save(b.Context(), State{}); err != nil {
		b.Fatal(err)
	}
	appendStorm(b, l, b.N)
	b.ResetTimer()
	r := startDeliverer(b, srv.URL, l, c)
	for r.d.Acked() < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	_ = r.halt()
}

// BenchmarkCursorSave: one synced write of the single-node cursor, in CPU
// (getrusage: the kernel's fdatasync work is most of it).
func BenchmarkCursorSave(b *testing.B) {
	c := openCursor(b, b.TempDir(), "http://127.0.0.1:9/hook")
	defer c.Close()
	b.ReportAllocs()
	cpu0 := testkit.CPUTime()
	for i := range b.N {
		if err := c.Save(b.Context(), State{Acked: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/write")
}

// BenchmarkDeliverToChild: the delivering goroutine's whole loop per
// event, catching up a backlog of storm events (full batches) to a
// receiver in a child process, so that this process's CPU (cpu-µs/event,
// getrusage) and allocations (allocs/event) are the deliverer's alone:
// reading the batch, the body, the signature, the exchange, the metrics
// and the cursor's saves (one a second while batches keep going).
func BenchmarkDeliverToChild(b *testing.B) {
	l, dir := tempLog(b)
	url := childReceiver(b)
	c := openCursor(b, dir, url)
	defer c.Close()
	if err := c.Save(b.Context(), State{}); err != nil {
		b.Fatal(err)
	}
	appendStorm(b, l, b.N)
	d := newSigned(b, url, l, c)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := testkit.CPUTime()
	b.ResetTimer()
	r := runDeliverer(b, d)
	for d.Acked() < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cpu := testkit.CPUTime() - cpu0
	runtime.ReadMemStats(&ms1)
	_ = r.halt()
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N), "allocs/event")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N), "B/event")
}
