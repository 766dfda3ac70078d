package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFitSlopeOverPlateaus(t *testing.T) {
	r := &Result{Stages: []Stage{
		{Target: 1000, Registered: 1000, RSS: 5_000_000}, // below 2000: left out
		{Target: 2000, Registered: 2000, RSS: 10_000_000},
		{Target: 5000, Registered: 5000, RSS: 13_000_000},
		{Target: 10000, Registered: 10000, RSS: 18_500_000}, // a GC peak above the line
		{Target: 19000, Registered: 19000, RSS: 27_000_000},
	}}
	r.FitSlope()
	assert.EqualValues(t, 2000, r.SlopeFrom)
	assert.EqualValues(t, 19000, r.SlopeTo)
	assert.InDelta(t, 1000, r.RSSPerClientEnds, 1e-9)
	assert.InDelta(t, 1000, r.RSSPerClient, 30, "the fit stays near the line through the plateaus")

	one := &Result{Stages: []Stage{{Target: 5000, Registered: 5000, RSS: 1}}}
	one.FitSlope()
	assert.Zero(t, one.RSSPerClient)
}
