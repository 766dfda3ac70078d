package testkit

import (
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
