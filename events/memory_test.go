package events_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/cliser/cliser/events"
)

// BenchmarkLogMemory is what the log keeps in memory per client: the Go
// heap and the process's anonymous and file-backed RSS (bbolt maps its
// file: pages it reads count as RssFile).
//
// *-slope-B/client is the floor bench's figure for the log alone: the
// growth from a plateau of 2,000 connected clients to one of 19,000 (each
// client's connected event), each settled 3 s as the floor's plateaus
// are, divided by the 17,000 clients between. The client IDs are held
// throughout, as the registry holds a connected client's: what the log
// adds is its own.
//
// heap-, rssanon- and rssfile-B/client are after a storm on top (each
// client disconnects and connects again, 57,000 events), from before the
// log opened, each divided by the clients: bounded caches included.
func BenchmarkLogMemory(b *testing.B) {
	const clients, first = 19000, 2000
	cids := make([]string, clients)
	for i := range cids {
		cids[i] = "storm-" + strconv.Itoa(i)
	}
	for range b.N {
		heap0, anon0, file0 := memNow()
		path, l := openBenchLog(b)
		now := time.Now().UTC()
		plateau := func(from, to int) (heap, anon, file int64) {
			for i := from; i < to; i++ {
				l.Append(connectEvent(cids[i], i, &now))
			}
			waitNewestB(b, l, uint64(to))
			// Settled as the floor bench's plateaus are (3 s): the writer
			// lets go of the file's mapped pages at most once a second.
			time.Sleep(3 * time.Second)
			return memNow()
		}
		h2, a2, f2 := plateau(0, first)
		h19, a19, f19 := plateau(first, clients)
		const between = clients - first
		b.ReportMetric(float64(h19-h2)/between, "heap-slope-B/client")
		b.ReportMetric(float64(a19-a2)/between, "rssanon-slope-B/client")
		b.ReportMetric(float64(f19-f2)/between, "rssfile-slope-B/client")
		for i := range clients {
			l.Append(stormEvent(i, &now))
			l.Append(connectEvent(cids[i], i, &now))
		}
		waitNewestB(b, l, 3*clients)
		time.Sleep(3 * time.Second) // settled, as above
		heap1, anon1, file1 := memNow()
		b.ReportMetric(float64(heap1-heap0)/clients, "heap-B/client")
		b.ReportMetric(float64(anon1-anon0)/clients, "rssanon-B/client")
		b.ReportMetric(float64(file1-file0)/clients, "rssfile-B/client")
		// HEAPPROF=file writes the heap's profile at this point (what
		// -memprofile cannot: it writes after the log is closed).
		if f := os.Getenv("HEAPPROF"); f != "" {
			w, _ := os.Create(f)
			_ = pprof.WriteHeapProfile(w)
			_ = w.Close()
		}
		runtime.KeepAlive(l)
		_ = l.Close()
		_ = os.Remove(path)
	}
	runtime.KeepAlive(cids)
}

func connectEvent(cid string, i int, now *time.Time) events.Event {
	return events.Event{Type: events.TypeConnected, Time: *now, CID: cid, SID: uint16(i),
		CIP: "127.0.10.3", CPort: "41234", Session: "5f0c2a9e3b1d4c77-2n"}
}

// memNow is the live heap after a GC, and RssAnon and RssFile of
// /proc/self/status, in bytes, after the heap's free pages went back to
// the kernel (what the runtime's scavenger does in the background within
// minutes: the benchmark's burst of events, queued at once, is transient).
func memNow() (heap, anon, file int64) {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return int64(ms.HeapAlloc), 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb int64
		line := s.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte("RssAnon:")):
			_, _ = fmt.Sscan(string(line[len("RssAnon:"):len(line)-3]), &kb)
			anon = kb << 10
		case bytes.HasPrefix(line, []byte("RssFile:")):
			_, _ = fmt.Sscan(string(line[len("RssFile:"):len(line)-3]), &kb)
			file = kb << 10
		}
	}
	return int64(ms.HeapAlloc), anon, file
}
