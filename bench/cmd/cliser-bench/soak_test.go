package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `cliser-bench soak` end to end at small N: the report files are written
// whatever the verdict, and a short soak has no unexpected error and loses
// no client (flatness over three seconds is not asserted: the warm-up of
// so short a run may still be growing).
func TestSoakWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 2*time.Minute)
	err := soak(ctx, []string{"--clients", "40", "--duration", "3s", "--churn-rate", "50", "--pool", "8",
		"--sample-every", "250ms", "--keepalive-interval", "200ms", "--in-process-load",
		"--cliser-bin", bin, "--out-dir", dir})
	if err != nil {
		assert.Contains(t, err.Error(), "soak failed")
		assert.NotContains(t, err.Error(), "×", "unexpected errors")
		assert.NotContains(t, err.Error(), "lost")
	}
	mds, _ := filepath.Glob(filepath.Join(dir, "*-soak.md"))
	jss, _ := filepath.Glob(filepath.Join(dir, "*-soak.json"))
	require.Len(t, mds, 1)
	require.Len(t, jss, 1)
	md, err := os.ReadFile(mds[0])
	require.NoError(t, err)
	assert.Contains(t, string(md), "**Verdict: ")
	assert.Contains(t, string(md), "clients connected | | | 40 of 40")
}
