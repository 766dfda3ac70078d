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
func TestStatusSaysWhyANodeIsUnreachable(t *testing.T) {
	st := admin.StatsResponse{WindowSeconds: 300, Nodes: []admin.NodeStats{
		{Node: "n1", State: "up"},
		{Node: "n3", State: "unreachable", Error: "nats: timeout"},
	}}
	var out strings.Builder
	require.NoError(t, writeStatus(&out, "http://127.0.0.1:7071", st, healthLines{}))
	assert.Contains(t, out.String(), "\nn3 unreachable: nats: timeout\n")
	assert.NotContains(t, out.String(), "n1 up:")
}
