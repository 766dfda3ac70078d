package webhook

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/cliser/cliser/events"
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
	reason := "closed by client"
	now := time.Now()
	for i := range b.N {
		l.Append(events.Event{Type: events.TypeDisconnected, CID: "storm-" + strconv.Itoa(i), Node: "n1", SID: 7,
			CIP: "127.0.0.1", CPort: "40000", Session: "s-" + strconv.Itoa(i), ConnectedAt: &now, Reason: &reason})
	}
	for l.Newest() < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
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
	cpu0 := cpuTime()
	for i := range b.N {
		if err := c.Save(b.Context(), State{Acked: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/write")
}
