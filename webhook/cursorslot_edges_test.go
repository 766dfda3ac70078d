package webhook

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A first save torn by a crash leaves one slot not whole beside an empty
// one: nothing was stored yet, not damage, so the cursor opens with no
// state rather than refusing to start; both not whole is damage. A
// mutation audit found the two cases interchangeable with every test
// passing.
func TestNewestSlotOfATornFirstSaveIsNoState(t *testing.T) {
	torn := make([]byte, slotSize)
	encodeSlot(torn, 1, State{Acked: 7, First: 8, Last: 9})
	torn[20] ^= 0xff // the CRC no longer matches
	empty := make([]byte, slotSize)

	for _, pair := range [][2][]byte{{torn, empty}, {empty, torn}} {
		_, ok, err := newestSlot(pair[0], pair[1])
		require.NoError(t, err, "a torn first save is no state, not damage")
		assert.False(t, ok)
	}
	_, _, err := newestSlot(torn, torn)
	assert.ErrorIs(t, err, errDamaged)
}
