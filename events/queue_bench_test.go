package events

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkQueuePushSpaced is the loops' push (issue 17): from every P at
// once (run it with -cpu 2), one push at a time under a lock of their own
// as the registry's is, each P writing its own lines between pushes as a
// handshake does, so that what the push touches is what the other P (or
// the writer) wrote last; a writer beside reads the events and gives the
// blocks back. push-ns is the time inside push alone (two clock reads
// included).
func BenchmarkQueuePushSpaced(b *testing.B) {
	q := newQueue(1<<20, newMetrics(), zap.NewNop())
	benchPushSpaced(b, func() *queue { return q }, q)
}

// BenchmarkQueuePushSpacedApart is BenchmarkQueuePushSpaced with each P
// pushing into a queue of its own (no order between them): the most that
// blocks of one producer each could save the push.
func BenchmarkQueuePushSpacedApart(b *testing.B) {
	benchPushSpaced(b, func() *queue { return newQueue(1<<20, newMetrics(), zap.NewNop()) })
}

// benchPushSpaced runs the pushes into queueOfP's queue for each P; the
// shared queue, if any, is drained from the start, a P's own as it starts.
func benchPushSpaced(b *testing.B, queueOfP func() *queue, shared ...*queue) {
	stop := make(chan struct{})
	var writers sync.WaitGroup
	start := func(q *queue) {
		writers.Add(1)
		go func() { defer writers.Done(); drainQueue(q, stop) }()
	}
	for _, q := range shared {
		start(q)
	}
	var registry sync.Mutex // the registry's lock, which the loops push under
	var inPush atomic.Int64
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		q := queueOfP()
		if len(shared) == 0 {
			start(q)
		}
		var own [64 * 64]byte
		var spent time.Duration
		ev := Event{Type: TypeConnected, Time: now, Node: "n1", CID: "bench-00042", SID: 42,
			CIP: "192.0.2.1", CPort: "40000", Session: "5f0c2a9e3b1d4c77-2n"}
		for pb.Next() {
			registry.Lock()
			t0 := time.Now()
			q.push(ev)
			spent += time.Since(t0)
			registry.Unlock()
			for i := 0; i < len(own); i += 64 {
				own[i]++
			}
		}
		inPush.Add(int64(spent))
	})
	b.StopTimer()
	close(stop)
	writers.Wait()
	b.ReportMetric(float64(inPush.Load())/float64(b.N), "push-ns")
}

// drainQueue takes q's blocks every 100 µs until stop, reads their
// events as the log's writer encodes them and gives the blocks back
// (faster than the writer, so that the queue never fills).
func drainQueue(q *queue, stop <-chan struct{}) {
	var blocks [][]queued
	for {
		select {
		case <-stop:
			return
		default:
		}
		time.Sleep(100 * time.Microsecond)
		blocks = q.takeBlocks(blocks, logChunk)
		for _, b := range blocks {
			for i := range b {
				drainRead += len(b[i].cid) + len(b[i].session) + int(b[i].typ)
			}
		}
		q.release(blocks)
	}
}

// drainRead is what drainQueue read, kept so that the reads stay.
var drainRead int
