package reactor

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// One session per client: a field added carelessly moves it to the next
// size class (96 bytes) for every client held.
func TestSessionFitsItsSizeClass(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(session{}), uintptr(80))
}
