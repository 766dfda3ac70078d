package main

import (
	"bufio"
	"context"
	"net"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// Two serve processes joined by --cluster (flag) and CLISER_CLUSTER (env)
// on a real embedded nats-server: a client of one is seen and kicked
// through the other's admin API, and both stop cleanly.
func TestBinaryClusterMode(t *testing.T) {
	ns := testkit.NATS(t)
	url := ns.ClientURL()

	common := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--keepalive-interval", "1h"}
	alpha := testkit.Serve(t, []string{"CLISER_PASSWORD=cl-secret", "CLISER_CLUSTER=" + url},
		append(common, "--node-id", "alpha", "--data-dir", t.TempDir())...)
	beta := testkit.Serve(t, []string{"CLISER_PASSWORD=cl-secret"},
		append(common, "--cluster", url, "--node-id", "beta", "--data-dir", t.TempDir())...)

	conn, err := net.Dial("tcp", alpha.Addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("110 cl-secret\n120 cl-client-1\n"))
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	for range 3 { // 110 password, 120 id, 140 connected
		_, err := r.ReadString('\n')
		require.NoError(t, err)
	}

	api, err := admin.NewClient("http://"+beta.AdminAddr, "", 5*time.Second)
	require.NoError(t, err)
	ctx := context.Background()
	require.Eventually(t, func() bool {
		page, err := api.List(ctx, "connected", 0, "")
		return err == nil && len(page.Clients) == 1 && page.Clients[0].CID == "cl-client-1" && page.Clients[0].Node == "alpha"
	}, 15*time.Second, 20*time.Millisecond, "beta lists alpha's client")
	_, err = api.Kick(ctx, "cl-client-1")
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "190 kicked\n", line)

	for _, p := range []*testkit.Served{alpha, beta} {
		require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 0, p.Wait(t), p.LogText())
		assert.NotContains(t, p.LogText(), "cl-secret")
	}
	assert.Contains(t, alpha.LogText(), `"msg":"cluster: joined"`)
}

// The stats sampler ticks every 5 s: a disconnect shows in /v1/stats once
// a tick has seen it, so the tests poll the CLI with room for a busy box.
const statsWait = 40 * time.Second

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

	alphaRow := regexp.MustCompile(`(?m)^alpha\s+up\s+2\s+2\s+\d+\.\d\d\s+\S.*\s+none$`)
	betaRow := regexp.MustCompile(`(?m)^beta\s+up\s+1\s+2\s+\d+\.\d\d\s+\S.*\s+closed by client 1$`)
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
