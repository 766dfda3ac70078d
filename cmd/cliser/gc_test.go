package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestServeTunesGCUnlessGOGCIsSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	t.Setenv("GOGC", "")
	assert.Equal(t, serveGCPercent, tuneGC())
	assert.Equal(t, serveGCPercent, debug.SetGCPercent(serveGCPercent))

	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200) // what the runtime read from GOGC at start
	assert.Equal(t, 200, tuneGC(), "the operator's GOGC stands")
	assert.Equal(t, 200, debug.SetGCPercent(200))
}
