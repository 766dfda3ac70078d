package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/harness"
)

// Each ratio compares the servers of one round, and the median is marked.
func TestFloorRoundsRatiosPerRound(t *testing.T) {
	var all []roundResult
	for round, hs := range []float64{50, 60, 40} {
		all = append(all,
			roundResult{Round: round + 1, Server: harness.KindCliser, HandshakeUS: hs, RSSPerClient: 1000, IdleCPU: 30},
			roundResult{Round: round + 1, Server: harness.KindFloor, HandshakeUS: 40, RSSPerClient: 800, IdleCPU: 25},
			roundResult{Round: round + 1, Server: harness.KindCliserEvents, HandshakeUS: hs * 1.05, RSSPerClient: 1100, IdleCPU: 30})
	}
	md := floorRoundsMarkdown(all, harness.Quick(), time.Time{})
	assert.Contains(t, md, "| cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | 1.25×, 1.50×, 1.00× (**1.25×**) | 1.25×, 1.25×, 1.25× (**1.25×**) | 1.20×, 1.20×, 1.20× (**1.20×**) |")
	assert.Contains(t, md, "| cliser+events ÷ cliser (target ≤ 1.10×) | 1.05×, 1.05×, 1.05× (**1.05×**) | 1.10×, 1.10×, 1.10× (**1.10×**) | 1.00×, 1.00×, 1.00× (**1.00×**) |")

	// Two rounds: the median is their mean, not the larger one.
	md = floorRoundsMarkdown(all[:6], harness.Quick(), time.Time{})
	assert.Contains(t, md, "| cliser ÷ floor (targets 1.2×, 1.3×, 1.3×) | 1.25×, 1.50× (**1.38×**) |")
}

// A round without bursts has no CPU per handshake: its report is still
// written, the figure null (encoding NaN failed and the report was lost).
func TestFloorRoundsReportWithoutBursts(t *testing.T) {
	var buf strings.Builder
	rounds := jsonRounds([]roundResult{{Round: 1, Server: harness.KindFloor, HandshakeUS: math.NaN()}})
	require.NoError(t, harness.WriteJSON(&buf, rounds))
	assert.Contains(t, buf.String(), `"burst_cpu_us_per_handshake": null`)
}
