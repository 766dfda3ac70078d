package client

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// The memory benchmarks need the server out of the measured process: the
// test binary re-runs itself as a plain reactor server when this variable
// is set.
const childServerEnv = "CLISER_CLIENT_TEST_CHILD_SERVER"

func TestMain(m *testing.M) { testkit.ChildMain(m, childServerEnv, runChildServer) }

// runChildServer serves until stdin closes, after printing its address.
func runChildServer() {
	srv, err := reactor.New(registry.New(), reactor.WithAddr("127.0.0.1:0"),
		reactor.WithPasswords([][]byte{[]byte(realPassword)}), reactor.WithLogger(zap.NewNop()),
		reactor.WithKeepAlive(time.Hour, time.Minute))
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("addr", srv.Addr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // EOF when the parent ends
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Stop(ctx)
}

func startChildServer(b *testing.B) string {
	b.Helper()
	line := testkit.StartChild(b, childServerEnv)
	if !strings.HasPrefix(line, "addr ") {
		b.Fatalf("child server: %q", line)
	}
	return strings.TrimPrefix(line, "addr ")
}

// inUse is the process's Go memory in use: heap objects and goroutine
// stacks, after a collection. Kernel socket buffers are not in it (they are
// the same for either client shape).
func inUse() (bytes uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse, runtime.NumGoroutine()
}

// maxMemSessions keeps both processes under the open-files limit whatever
// b.N the benchmark framework picks.
const maxMemSessions = 8000

func reportPerSession(b *testing.B, n int, before, after uint64, gBefore, gAfter int) {
	b.ReportMetric(float64(int64(after)-int64(before))/float64(n), "B/session")
	b.ReportMetric(float64(gAfter-gBefore)/float64(n), "goroutines/session")
}

// BenchmarkFleetMemory measures the Go memory a registered, idle Fleet
// session costs. Run with a fixed count: -bench FleetMemory -benchtime 5000x.
func BenchmarkFleetMemory(b *testing.B) {
	addr := startChildServer(b)
	var registered atomic.Int64
	f, err := NewFleet(FleetConfig{Addr: addr, Password: realPassword, EventLoops: 2,
		Events: FleetEvents{Registered: func(*Session, uint16, time.Time) { registered.Add(1) }}})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n := min(b.N, maxMemSessions)
	before, gBefore := inUse()
	sessions := make([]*Session, 0, n)
	for i := 0; i < n; i++ {
		s, err := f.Open(context.Background(), i, fmt.Sprintf("mem-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	for deadline := time.Now().Add(time.Minute); registered.Load() < int64(n); {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d registered", registered.Load(), n)
		}
		time.Sleep(10 * time.Millisecond) // polling the counter
	}
	after, gAfter := inUse()
	reportPerSession(b, n, before, after, gBefore, gAfter)
	runtime.KeepAlive(sessions)
}

// BenchmarkConnMemory is the same for Dial's Conn (one reader goroutine
// per session), for comparison.
func BenchmarkConnMemory(b *testing.B) {
	addr := startChildServer(b)
	n := min(b.N, maxMemSessions)
	before, gBefore := inUse()
	conns := make([]*Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := Dial(context.Background(), Config{Addr: addr, Password: realPassword, ID: fmt.Sprintf("mem-%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	after, gAfter := inUse()
	reportPerSession(b, n, before, after, gBefore, gAfter)
	for _, c := range conns {
		_ = c.Close(context.Background())
	}
}
