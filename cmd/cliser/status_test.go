package main

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// The stats sampler ticks every 5 s: a disconnect shows in /v1/stats once
// a tick has seen it, so the tests poll the CLI with room for a busy box.
const statsWait = 40 * time.Second

func TestCLIStatusSingleNode(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	for i := range 3 {
		opsConnect(t, s.srv.Addr(), opsPassword, fmt.Sprintf("st-%d", i))
	}
	gone := opsConnect(t, s.srv.Addr(), opsPassword, "st-gone")
	_, _, err := runCLI(t, "clients", "kick", "st-gone", "--admin", s.admin)
	require.NoError(t, err)
	gone.ExpectClosed("190 kicked")

	var out string
	require.Eventually(t, func() bool {
		out, _, err = runCLI(t, "status", "--admin", s.admin)
		return err == nil && strings.Contains(out, "kicked 1")
	}, statsWait, 100*time.Millisecond, "status never showed the kick: %s", out)
	assert.Regexp(t, `(?m)^clients:\s+3 connected of 4 records$`, out)
	assert.Regexp(t, `(?m)^handshakes:\s+\d+\.\d/s over the last minute$`, out)
	assert.Regexp(t, `(?m)^keep-alive RTT:\s+(-|p50 .* ms, p99 .* ms) over the last 5 minutes$`, out)
	assert.Regexp(t, `(?m)^disconnects:\s+kicked 1 over the last 5 minutes$`, out)
	assert.NotContains(t, out, "NODE", "a single node has no node table")

	out, _, err = runCLI(t, "status", "--admin", s.admin, "-o", "json")
	require.NoError(t, err)
	st := decodeJSON[admin.StatsResponse](t, out)
	assert.Equal(t, 3, st.Connected)
	assert.Equal(t, 4, st.Records)

	ln, err := net.Listen("tcp", "127.0.0.1:0") // nothing listens on a port just freed
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	_, _, err = runCLI(t, "status", "--admin", ln.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is `cliser serve` running?")
	assert.Equal(t, 1, exitCode(err))
}

// Two `cliser serve --cluster` nodes: status through either one shows both
// nodes, each with its own clients, and the sums above them.
func TestCLIStatusClusterPerNode(t *testing.T) {
	cliEnv(t)
	ns := testkit.NATS(t)
	env := []string{"CLISER_PASSWORD=st-secret", "CLISER_CLUSTER=" + ns.ClientURL()}
	common := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--keepalive-interval", "1h"}
	alpha := testkit.Serve(t, env, append(common, "--node-id", "alpha", "--data-dir", t.TempDir())...)
	beta := testkit.Serve(t, env, append(common, "--node-id", "beta", "--data-dir", t.TempDir())...)
	opsConnect(t, alpha.Addr, "st-secret", "st-a1")
	opsConnect(t, alpha.Addr, "st-secret", "st-a2")
	opsConnect(t, beta.Addr, "st-secret", "st-b1")
	gone := opsConnect(t, beta.Addr, "st-secret", "st-b-gone")
	require.NoError(t, gone.Conn.Close())

	alphaRow := regexp.MustCompile(`(?m)^alpha\s+up\s+2\s+2\s+\d+\.\d\s+\S.*\s+none$`)
	betaRow := regexp.MustCompile(`(?m)^beta\s+up\s+1\s+2\s+\d+\.\d\s+\S.*\s+closed by client 1$`)
	var out string
	require.Eventually(t, func() bool {
		var err error
		out, _, err = runCLI(t, "status", "--admin", "http://"+alpha.AdminAddr)
		return err == nil && alphaRow.MatchString(out) && betaRow.MatchString(out)
	}, statsWait, 100*time.Millisecond, "status through alpha: %s", out)
	t.Logf("cliser status:\n%s", out)
	assert.Regexp(t, `(?m)^clients:\s+3 connected of 4 records$`, out)
	assert.Regexp(t, `(?m)^disconnects:\s+closed by client 1 over the last 5 minutes$`, out)
	assert.Regexp(t, `(?m)^NODE\s+STATE\s+CONNECTED\s+RECORDS\s+HANDSHAKES/S\s+RTT\s+DISCONNECTS$`, out)

	out, _, err := runCLI(t, "status", "--admin", "http://"+beta.AdminAddr)
	require.NoError(t, err)
	assert.Regexp(t, alphaRow, out, "beta sees alpha too")
	assert.Regexp(t, betaRow, out)

	for _, p := range []*testkit.Served{alpha, beta} {
		require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 0, p.Wait(t), p.LogText())
	}
}
