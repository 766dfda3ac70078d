package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every subcommand answers a flag it cannot use with what to fix, before
// it starts anything.
func TestSubcommandsRejectBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(context.Context, []string) error
		args []string
		want string
	}{
		{"run", runOne, []string{"--stages", "10,5"}, "ascending"},
		{"cluster", cluster, []string{"--nodes", "1"}, "--nodes >= 2"},
		{"cluster", cluster, []string{"--clients-per-node", "0"}, "--clients-per-node >= 1"},
		{"soak", soak, []string{"--clients", "1"}, "--clients >= 2"},
		{"soak", soak, []string{"--duration", "0s"}, "--duration > 0"},
		{"identity", identityBench, []string{"--clients", "0"}, "--clients and --rounds must be positive"},
		{"identity", identityBench, []string{"--rounds", "0"}, "--clients and --rounds must be positive"},
		{"webhook", webhookBench, []string{"--rounds", "0"}, "--clients and --rounds must be positive"},
		{"webhook", webhookBench, []string{"--modes", "on"}, "--modes must include off"},
		{"webhook", webhookBench, []string{"--modes", "off,loud"}, `"loud" is not off, log or on`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, tc.run(context.Background(), tc.args), tc.want, tc.args)
		})
	}
}

// `cliser-bench identity` end to end at small N: both modes register
// every client against a real `cliser serve`, and the report and its
// figures are written.
func TestIdentityWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 2*time.Minute)
	out := filepath.Join(dir, "identity.md")
	require.NoError(t, identityBench(ctx, []string{"--cliser-bin", bin, "--clients", "20", "--rounds", "1", "--concurrency", "8", "--out", out}))

	var rs []identityRound
	readJSON(t, filepath.Join(dir, "identity.json"), &rs)
	require.Len(t, rs, 2)
	for i, mode := range []string{"shared", "secrets"} {
		assert.Equal(t, mode, rs[i].Mode)
		assert.EqualValues(t, 20, rs[i].Registered, mode)
		assert.Zero(t, rs[i].Errors, mode)
		assert.Positive(t, rs[i].ServerCPU, mode)
	}
	md, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(md), "| server CPU per handshake |")
}

// `cliser-bench webhook` end to end at small N: with the log and the
// webhook on, the receiver verifies every event of the storm; the log's
// size is measured.
func TestWebhookWritesTheReport(t *testing.T) {
	bin, dir, ctx := endToEnd(t, 2*time.Minute)
	out := filepath.Join(dir, "webhook.md")
	require.NoError(t, webhookBench(ctx, []string{"--cliser-bin", bin, "--clients", "20", "--rounds", "1", "--concurrency", "8", "--out", out}))

	var rs []webhookRound
	readJSON(t, filepath.Join(dir, "webhook.json"), &rs)
	require.Len(t, rs, 2)
	assert.Equal(t, "off", rs[0].Mode)
	assert.Zero(t, rs[0].Events, "off writes no log")
	on := rs[1]
	assert.Equal(t, "on", on.Mode)
	assert.EqualValues(t, 20, on.Registered)
	assert.EqualValues(t, 60, on.Events, "connect, disconnect, connect again")
	assert.Equal(t, on.Events, on.Delivered)
	assert.Positive(t, on.LogBytes)
	md, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(md), "| median |")
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}
