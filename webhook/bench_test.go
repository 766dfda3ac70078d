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
