package main

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What /proc/net/stat/nf_conntrack held on the bench machine after a run
// that found the table full (two CPUs; drop is the 11th column).
const conntrackStatGolden = `entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
000018a9  00000000 00000000 00000000 000000ca 00000000 00000000 00000000 00000000 00000000 00000f56 00000000 00000000  00000000 00000000 00000000 00000000
000018a9  00000000 00000000 00000000 000000b4 00000000 00000000 00000000 00000000 00000000 00001166 00000000 00000000  00000000 00000000 00000000 00000000
`

func TestParseConntrackDrops(t *testing.T) {
	n, err := parseConntrackDrops(conntrackStatGolden)
	require.NoError(t, err)
	assert.Equal(t, uint64(0xf56+0x1166), n)

	for in, want := range conntrackRefused {
		_, err = parseConntrackDrops(in)
		assert.ErrorContains(t, err, want, in)
	}
}

// conntrackRefused are stat files the parser refuses, with what it says.
var conntrackRefused = map[string]string{
	"entries found\n0001 0002\n": "no drop column",
	"entries drop\n0001\n":       "columns",
	"entries drop\n0001 zz\n":    "conntrack stat",
}

// The parser never panics, whatever the file holds.
func FuzzParseConntrackDrops(f *testing.F) {
	f.Add(conntrackStatGolden)
	for _, in := range slices.Sorted(maps.Keys(conntrackRefused)) {
		f.Add(in)
	}
	f.Add("entries drop\n0001 ffffffffffffffff\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseConntrackDrops(s)
	})
}
