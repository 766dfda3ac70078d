package events_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// BenchmarkLogAppend is the cost of one event from Append to the disk (the
// writer's share included): what the event log adds to a handshake.
func BenchmarkLogAppend(b *testing.B) {
	path, l := openBenchLog(b)
	now := time.Now().UTC()
	b.ReportAllocs()
	cpu0 := testkit.CPUTime()
	b.ResetTimer()
	for i := range b.N {
		l.Append(stormEvent(i%19000, &now))
	}
	waitNewestB(b, l, uint64(b.N))
	b.StopTimer()
	// CPU, not wall time: the machine is shared, and the writer's share
	// runs on its own goroutine.
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
	_ = l.Close()
	if st, err := os.Stat(path); err == nil && b.N > 1000 {
		b.ReportMetric(float64(st.Size())/float64(b.N), "disk-bytes/event")
	}
}

// BenchmarkLogAppendParallel is BenchmarkLogAppend from as many
// goroutines as GOMAXPROCS, as event loops append: the queue's mutex
// shared, the writer behind them.
func BenchmarkLogAppendParallel(b *testing.B) {
	_, l := openBenchLog(b)
	defer l.Close()
	now := time.Now().UTC()
	var n atomic.Int64
	b.ReportAllocs()
	cpu0 := testkit.CPUTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Append(stormEvent(int(n.Add(1))%19000, &now))
		}
	})
	waitNewestB(b, l, uint64(b.N))
	b.StopTimer()
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
}

func waitNewestB(b *testing.B, l *events.Log, seq uint64) {
	for l.Newest() < seq {
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkReadRaw is webhook delivery's read of a batch of 100 just
// behind the writer: from the newest events kept in memory, and from the
// file (the log reopened, so nothing is in memory), in one run.
func BenchmarkReadRaw(b *testing.B) {
	path, l := openBenchLog(b)
	now := time.Now().UTC()
	const n = 4000
	for i := range n {
		l.Append(stormEvent(i, &now))
	}
	waitNewestB(b, l, n)
	read := func(b *testing.B, l *events.Log) {
		b.ReportAllocs()
		cpu0 := testkit.CPUTime()
		for i := range b.N {
			raws, err := l.ReadRaw(b.Context(), uint64(i%(n/100))*100, 100)
			if err != nil || len(raws) != 100 {
				b.Fatal(len(raws), err)
			}
		}
		// CPU, not wall time: the machine is shared.
		b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/float64(b.N*100), "cpu-ns/event")
	}
	b.Run("memory", func(b *testing.B) { read(b, l) })
	_ = l.Close()
	l, err := events.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.Run("file", func(b *testing.B) { read(b, l) })
}

func openBenchLog(b *testing.B) (string, *events.Log) {
	path := logPath(b)
	l, err := events.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, l
}

// stormEvent is the disconnect of client i in a reconnect storm.
func stormEvent(i int, now *time.Time) events.Event {
	reason := "closed by client"
	return events.Event{Type: events.TypeDisconnected, Time: *now, CID: fmt.Sprintf("storm-%d", i), SID: uint16(i),
		CIP: "127.0.10.3", CPort: "41234", Session: "5f0c2a9e3b1d4c77-2n", ConnectedAt: now, Reason: &reason}
}

// BenchmarkLogAppendPaced is BenchmarkLogAppend at a burst's pace:
// 14,000 events a second (the floor bench's bursts run ~7,000 handshakes
// a second, a connect and a disconnect each), 5 ms' worth at a time. BenchmarkLogAppend's appends come faster than any storm, so its
// transactions are of logChunk events; these are of what a burst's
// commit interval gathers, and the commits' own cost shows per event as
// in the bench.
func BenchmarkLogAppendPaced(b *testing.B) {
	_, l := openBenchLog(b)
	defer l.Close()
	appendPaced(b, l, 0)
}

// BenchmarkLogAppendPacedAtRetention is BenchmarkLogAppendPaced on a log
// that holds its retention's events already (a server that has run long
// enough, 1,000,000 events at the default): every commit's events push as
// many old ones out.
func BenchmarkLogAppendPacedAtRetention(b *testing.B) {
	const retention = 20000
	l, err := events.Open(logPath(b), events.WithRetention(retention))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	now := time.Now().UTC()
	for i := range retention {
		l.Append(stormEvent(i, &now))
	}
	waitNewestB(b, l, retention)
	appendPaced(b, l, retention)
}

// appendPaced appends b.N storm events to l at a burst's pace (see
// BenchmarkLogAppendPaced), l's newest seq being newest before, and
// reports the CPU an event.
func appendPaced(b *testing.B, l *events.Log, newest uint64) {
	now := time.Now().UTC()
	evs := make([]events.Event, 19000)
	for i := range evs {
		evs[i] = stormEvent(i, &now)
	}
	const perTick, tick = 70, 5 * time.Millisecond
	b.ReportAllocs()
	cpu0 := testkit.CPUTime()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; {
		for j := 0; j < perTick && i < b.N; j, i = j+1, i+1 {
			l.Append(evs[i%len(evs)])
		}
		if d := time.Duration(i/perTick)*tick - time.Since(start); d > 0 {
			time.Sleep(d)
		}
	}
	waitNewestB(b, l, newest+uint64(b.N))
	b.StopTimer()
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
}
