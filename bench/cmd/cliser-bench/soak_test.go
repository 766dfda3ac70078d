package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

func TestSoakRejectsBadFlags(t *testing.T) {
	err := soak(context.Background(), []string{"--clients", "1"})
	assert.ErrorContains(t, err, "--clients >= 2")
	err = soak(context.Background(), []string{"--duration", "0s"})
	assert.ErrorContains(t, err, "--duration > 0")
}

// `cliser-bench soak` end to end at small N: the report files are written
// whatever the verdict, and a short soak has no unexpected error and loses
// no client (flatness over three seconds is not asserted: the warm-up of
// so short a run may still be growing).
func TestSoakWritesTheReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cliser serve")
	}
	bin := testkit.Binary(t)

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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
