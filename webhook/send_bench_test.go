package webhook

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// BenchmarkSendBatch is the delivering side's CPU for one request of a
// full batch (100 storm events, ~30 KB) to a receiver in another process:
// encoding the body, signing, the request, net/http's transport and its
// goroutines, the answer, and the GC of their garbage. cpu-µs/req is this
// process's CPU (getrusage) a request, so the receiver's share is not in
// it.
func BenchmarkSendBatch(b *testing.B) {
	d, batch := fullBatchToChild(b)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := testkit.CPUTime()
	b.ResetTimer()
	for range b.N {
		if err := d.send(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/req")
}

// sendAllocBudget is what one acknowledged request of a full batch may
// allocate: its webhook-id (1). The request's head, signature, timestamp,
// ctx watch and a 2xx answer without a body (quickAnswer) allocate nothing
// (22 allocations a request before session 12, 7 before session 20:
// ReadResponse's 6).
const sendAllocBudget = 1

// TestSendAllocationBudget: a request of a full batch to a real receiver
// (another process, so that only the deliverer's allocations count)
// stays within sendAllocBudget.
func TestSendAllocationBudget(t *testing.T) {
	d, batch := fullBatchToChild(t)
	ctx := t.Context()
	allocs := testing.AllocsPerRun(50, func() {
		if err := d.send(ctx, batch); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations a request", allocs)
	if allocs > sendAllocBudget {
		t.Fatalf("a request allocates %.1f times, budget %d", allocs, sendAllocBudget)
	}
}

// fullBatchToChild is a Deliverer to a receiver in a child process with
// a full batch (100 storm events, ~30 KB) read from a real log, its
// connection already made.
func fullBatchToChild(tb testing.TB) (*Deliverer, []events.Raw) {
	l, _ := tempLog(tb)
	appendStorm(tb, l, 100)
	d := newSigned(tb, childReceiver(tb), l, nil)
	ctx := context.Background()
	batch, err := d.read(ctx, nil, 0, 100)
	if err != nil || len(batch) != 100 {
		tb.Fatal(len(batch), err)
	}
	if err := d.send(ctx, batch); err != nil { // the connection, once
		tb.Fatal(err)
	}
	return d, batch
}

// appendStorm appends n client.disconnected events as a storm makes
// them and waits until the log has them all. It waits for each
// stormChunk to be written before the next: a benchmark's b.N can pass
// the queue's limit, whose drops would leave it waiting for good.
func appendStorm(tb testing.TB, l *events.Log, n int) {
	tb.Helper()
	reason := "closed by client"
	now := time.Now()
	for i := 0; i < n; {
		want := l.Newest()
		for end := min(n, i+stormChunk); i < end; i++ {
			if !l.Append(events.Event{Type: events.TypeDisconnected, CID: "storm-" + strconv.Itoa(i), Node: "n1", SID: 7,
				CIP: "127.0.0.1", CPort: "40000", Session: "s-" + strconv.Itoa(i), ConnectedAt: &now, Reason: &reason}) {
				tb.Fatalf("the log dropped storm event %d", i)
			}
			want++
		}
		for l.Newest() < want {
			time.Sleep(time.Millisecond)
		}
	}
}

// stormChunk is what appendStorm queues at once, well under the queue's
// limit (events' defaultQueueLimit).
const stormChunk = 50_000

// childReceiver starts a receiver in a child process (see
// serveReceiverProcess) and returns its URL.
func childReceiver(tb testing.TB) string {
	return "http://" + testkit.StartChild(tb, receiverProcEnv) + "/hook"
}

// newSigned is a Deliverer of l to url, signed with the test vector's
// secret, its progress kept in c (nil: none), with the default options.
func newSigned(tb testing.TB, url string, l events.Reader, c Cursor) *Deliverer {
	tb.Helper()
	sg, err := ParseSecrets(vectorSecret)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := New(url, l, sg, c)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// receiverProcEnv makes the test binary BenchmarkSendBatch's receiver,
// a process of its own so that its CPU is not the benchmark's.
const receiverProcEnv = "CLISER_WEBHOOK_BENCH_RECEIVER"

func TestMain(m *testing.M) { testkit.ChildMain(m, receiverProcEnv, serveReceiverProcess) }

// serveReceiverProcess answers 204 to every request on 127.0.0.1 until
// stdin closes, after printing its address.
func serveReceiverProcess() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); _ = srv.Close() }()
	_ = srv.Serve(ln)
}
