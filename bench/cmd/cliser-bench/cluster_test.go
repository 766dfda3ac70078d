package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/bench/harness"
)

func TestClusterReportName(t *testing.T) {
	day := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	s := harness.DefaultCluster()
	s.PerNode = 18000
	assert.Equal(t, "2026-11-25-cluster", reportName(day, s), "the full run keeps the plain name")
	s.PerNode = 3000
	assert.Equal(t, "2026-11-25-cluster-3x3000", reportName(day, s))
}
