//go:build linux

package events

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestLogLetsGoOfMappedPages: a reader that read the whole file through
// bbolt's map (a webhook far behind) leaves its pages in the process's
// RSS; the writer lets go of them within about releaseEvery, with no event
// to write. It reads the Rss of the file's own mapping (/proc/self/smaps),
// which other tests of the package do not move.
func TestLogLetsGoOfMappedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Open(path)
	require.NoError(t, err)
	defer l.Close()
	const n = 60_000 // ~10 MB of file
	for i := range n {
		l.Append(Event{Type: TypeConnected, CID: "c-" + strconv.Itoa(i), CIP: "127.0.0.1", CPort: "40000"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.Wait(ctx, n-1))
	const small = 1 << 20
	// Clean too, not only a small Rss: the last commit's few pages leave
	// the Rss small with a release still due, which would then land in
	// the middle of the read below and let go of what it measures.
	require.Eventually(t, func() bool { return l.mapped.clean() && mappedRSS(t, path) < small },
		10*releaseEvery, 20*time.Millisecond, "the writer lets go of the pages its commits read")
	// Read as ReadRaw reads a file's older events, measured before the
	// read's end tells the writer.
	var read int64
	require.NoError(t, l.scan(ctx, 0, n, func(seq uint64, _ []byte) error {
		if seq == n {
			read = mappedRSS(t, path)
		}
		return nil
	}))
	require.Greater(t, read, int64(5<<20), "reading the file maps its pages")
	require.Eventually(t, func() bool { return mappedRSS(t, path) < small },
		10*releaseEvery, 20*time.Millisecond, "the writer lets go of the pages a reader read")
}

// mappedRSS is the Rss of this process's mappings of the file at path,
// in bytes, from /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	b, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	var total int64
	in := false
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		line := s.Text()
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = f[len(f)-1] == path // a mapping's header: its range ... its file
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			var kb int64
			_, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			require.NoError(t, err)
			total += kb << 10
		}
	}
	return total
}

// BenchmarkReleaseMapped is the cost of one releaseMapped, which the
// writer pays after each commit (at most one per commitEvery under load),
// on a log of 200,000 events (~70 MB) whose pages were all read, or none.
func BenchmarkReleaseMapped(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const n = 200_000
	for i := range n {
		l.Append(Event{Type: TypeConnected, CID: "c-" + strconv.Itoa(i), CIP: "127.0.0.1", CPort: "40000"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Wait(ctx, n-1); err != nil {
		b.Fatal(err)
	}
	b.Run("all-read", func(b *testing.B) { releaseAfter(b, l, true) })
	b.Run("none-read", func(b *testing.B) { releaseAfter(b, l, false) })
}

// releaseAfter times releaseMapped after every page of l was read, or
// after none was (what a commit leaves: a few).
func releaseAfter(b *testing.B, l *Log, readAll bool) {
	for range b.N {
		b.StopTimer()
		if !readAll {
			releaseMapped(l.db)
		} else if err := l.db.View(func(tx *bolt.Tx) error { // fault every page in
			return forEachFrom(tx.Bucket(bucketEvents), 1, func(uint64, []byte) bool { return true })
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		releaseMapped(l.db)
	}
}
