package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/harness"
)

// `cliser-bench cluster` end to end at small N: three real `cliser serve
// --cluster` nodes on an embedded NATS JetStream server, 30 load clients
// each; every client and every sample is counted, and both report files
// are written. No timing is asserted.
func TestClusterWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 90*time.Second)
	err := cluster(ctx, []string{"--cliser-bin", bin, "--out-dir", dir, "--in-process-load",
		"--clients-per-node", "30", "--visibility-samples", "6", "--routing-samples", "4", "--poll", "5ms"})
	require.NoError(t, err)

	day := time.Now().UTC().Format("2006-01-02")
	var res harness.ClusterResult
	readJSON(t, filepath.Join(dir, day+"-cluster-3x30.json"), &res)
	assert.EqualValues(t, 90, res.Clients)
	assert.EqualValues(t, 90, res.Handshakes)
	assert.Positive(t, res.RegistrationRate)
	require.Len(t, res.Nodes, 3)
	for _, n := range res.Nodes {
		assert.EqualValues(t, 30, n.Registered, n.ID)
		assert.Positive(t, n.RSS, n.ID)
	}
	assert.EqualValues(t, 6, res.Visibility.Count)
	assert.EqualValues(t, 6, res.VisibilityLocal.Count)
	assert.Zero(t, res.VisibilityLost)
	assert.LessOrEqual(t, res.VisibilityLocal.P50, res.Visibility.P50, "every node includes the holding one")
	assert.EqualValues(t, 4, res.Routing.Count)
	assert.EqualValues(t, 4, res.RoutingAnswer.Count)
	assert.Zero(t, res.RoutingLost)
	assert.Empty(t, res.Errors)
	assert.Empty(t, res.Problems)

	md, err := os.ReadFile(filepath.Join(dir, day+"-cluster-3x30.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "registration rate")
	assert.Contains(t, string(md), "| n3 | 30 |")
}

func TestClusterReportName(t *testing.T) {
	day := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	s := harness.DefaultCluster()
	s.PerNode = 18000
	assert.Equal(t, "2026-11-25-cluster", reportName(day, s), "the full run keeps the plain name")
	s.PerNode = 3000
	assert.Equal(t, "2026-11-25-cluster-3x3000", reportName(day, s))
}
