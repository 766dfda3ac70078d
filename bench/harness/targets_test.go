package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every goal of targets.json is judged by Targets, and each is judged the
// way round its bound says.
func TestTargetsFileIsTheGoals(t *testing.T) {
	for _, id := range []string{"rss_per_client", "rss_vs_baseline", "handshakes_per_cpu_vs_baseline", "handshake_rate",
		"rtt_p99_ms", "rtt_p999_ms", "tick_experiment", "idle_cpu_percent", "shutdown_last_ack_ms", "parse_allocs"} {
		assert.Contains(t, goals, id)
	}
	assert.Len(t, goals, 10, "a goal in targets.json that no code judges")

	rss := goalOf("rss_per_client")
	assert.True(t, rss.met(1024))
	assert.False(t, rss.met(1025))
	rate := goalOf("handshake_rate")
	assert.True(t, rate.met(25000))
	assert.False(t, rate.met(24999))
	assert.Equal(t, "5000 clients, 1s keep-alive: RTT p99 ≤ 2 ms",
		goalOf("rtt_p99_ms").text("clients", "5000", "keepalive", "1s"))
	assert.Panics(t, func() { goalOf("nope") })
	assert.Panics(t, func() { mustGoals([]byte(`[{"id": "x", "goal": "y", "at_most": 1, "at_least": 2}]`)) })
}
