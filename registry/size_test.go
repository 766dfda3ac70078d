package registry

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// One entry per client: a field added carelessly moves it to the next
// size class (96 bytes) for every client held.
func TestEntryFitsItsSizeClass(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(entry{}), uintptr(80))
}
