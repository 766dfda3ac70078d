package main

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestServeAddsASpareProcUnlessGOMAXPROCSIsSet(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	base := defaultProcs

	t.Setenv("GOMAXPROCS", "")
	assert.Equal(t, base+1, tuneProcs())
	assert.Equal(t, base+1, tuneProcs(), "a second serve in one process adds no P")
	assert.Equal(t, base+1, runtime.GOMAXPROCS(base))

	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1) // what the runtime read from GOMAXPROCS at start
	assert.Equal(t, 1, tuneProcs(), "the operator's GOMAXPROCS stands")
	assert.Equal(t, 1, runtime.GOMAXPROCS(0))
}
