package webhook

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cliser/cliser/events"
)

// receiverProcEnv makes TestReceiverProcess a receiver that answers 204
// to every request, for BenchmarkSendBatch's other process.
const receiverProcEnv = "CLISER_WEBHOOK_BENCH_RECEIVER"

// TestReceiverProcess is not a test: run by BenchmarkSendBatch as a
// process of its own (the test binary again), it serves 204s on
// 127.0.0.1 until its stdin closes, so the receiver's CPU is not this
// process's.
func TestReceiverProcess(t *testing.T) {
	if os.Getenv(receiverProcEnv) != "1" {
		t.Skip("the receiver of BenchmarkSendBatch, run as its own process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); _ = srv.Close() }()
	_ = srv.Serve(ln)
}

// startReceiverProcess runs TestReceiverProcess and returns its URL.
func startReceiverProcess(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestReceiverProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), receiverProcEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal("receiver process: ", err)
	}
	return "http://" + strings.TrimSpace(line) + "/hook"
}

// BenchmarkSendBatch is the delivering side's CPU for one request of a
// full batch (100 storm events, ~30 KB) to a receiver in another process:
// encoding the body, signing, the request, net/http's transport and its
// goroutines, the answer, and the GC of their garbage. cpu-µs/req is this
// process's CPU (getrusage) a request, so the receiver's share is not in
// it.
func BenchmarkSendBatch(b *testing.B) {
	l, _ := tempLog(b)
	reason := "closed by client"
	now := time.Now()
	for i := range 100 {
		l.Append(events.Event{Type: events.TypeDisconnected, CID: "storm-" + strconv.Itoa(i), Node: "n1", SID: 7,
			CIP: "127.0.0.1", CPort: "40000", Session: "s-" + strconv.Itoa(i), ConnectedAt: &now, Reason: &reason})
	}
	for l.Newest() < 100 {
		time.Sleep(time.Millisecond)
	}
	url := startReceiverProcess(b)
	sg, err := ParseSecrets(vectorSecret)
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(url, l, sg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	batch, err := d.read(ctx, nil, 0, 100)
	if err != nil || len(batch) != 100 {
		b.Fatal(len(batch), err)
	}
	if err := d.send(ctx, batch); err != nil { // the connection, once
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if err := d.send(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/req")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
