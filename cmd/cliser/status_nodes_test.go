package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

// A node the stats could not read says why under the table: the table
// said "unreachable" and the reason was in -o json alone (cluster audit).
// The summary above it is the nodes' sums, an unreachable node's records
// included, its disconnects most frequent first and none of a count 0,
// then the health with its notes (mutation audit: each went untested).
func TestStatusSaysWhyANodeIsUnreachable(t *testing.T) {
	st := admin.StatsResponse{WindowSeconds: 300, Nodes: []admin.NodeStats{
		{Node: "n1", State: "up", StatsFigures: admin.StatsFigures{Connected: 2, Records: 3,
			Disconnects: map[string]int{"keepalive timeout": 2, "kicked": 1}}},
		{Node: "n3", State: "unreachable", Error: "nats: timeout", StatsFigures: admin.StatsFigures{Records: 4,
			Disconnects: map[string]int{"kicked": 2, "server full": 0}}},
	}}
	hl := healthLines{h: admin.HealthResponse{Error: "registry store cannot write", Notes: map[string]string{"webhook": "webhook: failing"}}}
	var out strings.Builder
	require.NoError(t, writeStatus(&out, "http://127.0.0.1:7071", st, hl))
	assert.Contains(t, out.String(), "\nn3 unreachable: nats: timeout\n")
	assert.NotContains(t, out.String(), "n1 up:")
	assert.Regexp(t, `(?m)^clients:\s+2 connected of 7 records$`, out.String())
	assert.Regexp(t, `(?m)^disconnects:\s+kicked 3, keepalive timeout 2 over the last 5 minutes$`, out.String())
	assert.Regexp(t, `(?m)^health:\s+NOT READY: registry store cannot write\n\s+webhook: failing\n`, out.String())
}
