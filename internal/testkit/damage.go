package testkit

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// OverwritePages damages a file the way a disk or a bad copy does: it fills
// pages [from, to) of path (to -1: to the end) with random bytes seeded by
// seed, so a failing case repeats. It fails the test when the range holds
// no byte of the file, so a case never passes by damaging nothing.
func OverwritePages(t testing.TB, path string, from, to int, seed uint64) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	ps := os.Getpagesize()
	end := len(raw)
	if to >= 0 {
		end = min(to*ps, len(raw))
	}
	require.Greater(t, end, from*ps, "%s is too small to overwrite pages %d to %d", path, from, to)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := from * ps; i < end; i++ {
		raw[i] = byte(r.Uint32())
	}
	require.NoError(t, os.WriteFile(path, raw, 0o600))
}

// FreelistPage is the page that holds the freelist of the bbolt file at
// path, as its newest meta page names it: where a file's freelist lies
// depends on its history of commits.
func FreelistPage(t testing.TB, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	ps := os.Getpagesize()
	require.GreaterOrEqual(t, len(raw), 2*ps, "%s holds no meta pages", path)
	// A meta page: a 16-byte page header, then magic, version, page size,
	// flags, the root bucket (16 bytes), the freelist's page, the high
	// water mark, the txid.
	const freelistAt, txidAt = 48, 64
	page, txid := 0, uint64(0)
	for i := range 2 {
		m := raw[i*ps:]
		if id := binary.LittleEndian.Uint64(m[txidAt:]); i == 0 || id > txid {
			page, txid = int(binary.LittleEndian.Uint64(m[freelistAt:])), id
		}
	}
	require.Greater(t, page, 1, "%s: no freelist page named", path)
	return page
}

// GarbleEvery damages one stored record in place, the file's structure
// kept: in every copy of the bytes at (bbolt leaves stale copies in freed
// pages, and which copy is live depends on how the writes were batched),
// it sets the byte just past the first after that follows to b (after
// "": the first byte of at). It fails the test when path holds no copy.
func GarbleEvery(t testing.TB, path, at, after string, b byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	n := 0
	for off := 0; ; n++ {
		i := bytes.Index(raw[off:], []byte(at))
		if i < 0 {
			break
		}
		i += off
		j := bytes.Index(raw[i:], []byte(after))
		require.GreaterOrEqual(t, j, 0, "%s: a copy of %q has no %q after it", path, at, after)
		raw[i+j+len(after)] = b
		off = i + 1
	}
	require.Positive(t, n, "%s holds no %q", path, at)
	require.NoError(t, os.WriteFile(path, raw, 0o600))
}
