package registry

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every text cut stays what it was while later ones fill its array and
// the next ones, a text longer than an array included: the bytes behind
// a string are never written again.
func TestTextSlabKeepsWhatItCut(t *testing.T) {
	var slab textSlab
	var want, got []string
	for i := range 20_000 {
		text := strconv.Itoa(i) + "-" + strings.Repeat("x", i%40)
		if i == 7_000 {
			text = strings.Repeat("long", slabBytes) // past one array
		}
		want = append(want, text)
		got = append(got, slab.cut([]byte(text)))
	}
	require.Empty(t, slab.cut(nil))
	require.Equal(t, want, got)
}
