package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry/logstore"
)

func adminClient(t *testing.T, base string) *admin.Client {
	t.Helper()
	c, err := admin.NewClient(base, "", 5*time.Second)
	require.NoError(t, err)
	return c
}

// apiOf is an admin client of p's admin API, without a token.
func apiOf(t *testing.T, p *testkit.Served) *admin.Client {
	t.Helper()
	return adminClient(t, p.AdminURL(t))
}

// records lists every record through the API, following cursors.
func records(t *testing.T, c *admin.Client) map[string]admin.ClientRecord {
	t.Helper()
	out := map[string]admin.ClientRecord{}
	cursor := ""
	for {
		page, err := c.List(context.Background(), "all", "", 7, cursor)
		require.NoError(t, err)
		for _, r := range page.Clients {
			out[r.CID] = r
		}
		if cursor = page.Next; cursor == "" {
			return out
		}
	}
}

func serveArgs(dataDir string, extra ...string) []string {
	return append([]string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--data-dir", dataDir, "--keepalive-interval", "1h"}, extra...)
}

// The registry survives a crash: every client that registered more than a
// second before SIGKILL is there after a restart on the same data dir,
// disconnected, with the reason "server restarted" (or the reason it left
// with, if it had left).
func TestBinaryRestartAfterSIGKILLKeepsRecords(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	api := apiOf(t, p)

	var early []string
	for i := range 20 {
		cid := fmt.Sprintf("early-%02d", i)
		c := opsConnect(t, p.Addr, opsPassword, cid)
		early = append(early, cid)
		if i%4 == 0 { // some leave before the crash
			_ = c.Conn.Close()
			require.Eventually(t, func() bool {
				r, err := api.Get(context.Background(), cid)
				return err == nil && !r.CStatus
			}, waitFor, tick)
		}
	}
	settled := time.Now()
	// The contract is about time itself ("registered more than one second
	// before the kill"), so the test waits out that second; nothing is
	// guessed. Clients that come later may or may not have been written.
	time.Sleep(time.Until(settled.Add(1100 * time.Millisecond)))
	for i := range 3 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("late-%d", i))
	}
	require.NoError(t, p.Cmd.Process.Kill())
	<-p.Exited

	p2 := testkit.Serve(t, env, serveArgs(dataDir)...)
	api2 := apiOf(t, p2)
	got := records(t, api2)
	for i, cid := range early {
		r, ok := got[cid]
		require.True(t, ok, "%s registered >1s before the kill is missing after restart", cid)
		assert.False(t, r.CStatus, cid)
		require.NotNil(t, r.DisconnectedAt, cid)
		want := protocol.ReasonServerRestarted.String()
		if i%4 == 0 {
			want = protocol.ReasonClosedByClient.String()
		}
		assert.Equal(t, want, r.Reason, cid)
		assert.Equal(t, "127.0.0.1", r.CIP, cid)
	}
	restarted := 0
	for cid, r := range got {
		assert.False(t, r.CStatus, "%s: nothing is connected right after a restart", cid)
		if r.Reason == protocol.ReasonServerRestarted.String() {
			restarted++
		}
	}
	// Those sessions ended with this start: they count among the
	// disconnects by reason, in the metrics and in the stats' last minutes
	// (the dashboard's), where a restart used to show nothing.
	series := `cliser_disconnects_total{reason="server restarted"}`
	assert.Equal(t, float64(restarted), metricOf(t, p2.AdminURL(t), series))
	// And in the gauge CliserUncleanRestart reads: the counter's increase
	// missed a crash that left as many sessions as the one before.
	assert.Equal(t, float64(restarted), metricOf(t, p2.AdminURL(t), "cliser_start_sessions_restarted"))
	require.Eventually(t, func() bool {
		st, err := api2.Stats(context.Background())
		return err == nil && st.Disconnects[protocol.ReasonServerRestarted.String()] == restarted
	}, 20*time.Second, 100*time.Millisecond, "the stats' disconnects have the %d sessions the restart ended", restarted)
	// The restarted server serves: a known client comes back.
	opsConnect(t, p2.Addr, opsPassword, "early-01")
	r, err := api2.Get(context.Background(), "early-01")
	require.NoError(t, err)
	assert.True(t, r.CStatus)
}

// SIGTERM drains: /readyz was 200, every client hears "190 server shutting
// down", the process exits 0, and the records on disk say so (a restart
// shows "server shutting down", not "server restarted").
func TestBinaryDrainOnSIGTERMSavesRecords(t *testing.T) {
	dataDir := t.TempDir()
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir, "--shutdown-timeout", "5s")...)
	base := p.AdminURL(t)
	api := adminClient(t, base)
	require.NoError(t, api.Probe(context.Background(), "/readyz"))

	clients := map[string]*testkit.RawClient{}
	for i := range 8 {
		cid := fmt.Sprintf("drain-%d", i)
		clients[cid] = opsConnect(t, p.Addr, opsPassword, cid)
	}
	p.Terminate(t)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.ExpectClosed(testkit.CloseLine(protocol.ReasonServerShuttingDown)) })
	}
	wg.Wait()
	require.Equal(t, 0, p.Wait(t), p.LogText())
	assert.Contains(t, p.LogText(), `"msg":"stopped; registry written"`)
	err := api.Probe(context.Background(), "/healthz")
	var ue *admin.UnreachableError
	assert.ErrorAs(t, err, &ue, "the admin listener is closed once the process is gone")

	p2 := testkit.Serve(t, env, serveArgs(dataDir)...)
	got := records(t, apiOf(t, p2))
	require.Len(t, got, len(clients))
	for cid := range clients {
		assert.False(t, got[cid].CStatus, cid)
		assert.Equal(t, "server shutting down", got[cid].Reason, cid)
	}
}

// freePort is a port free on every interface now (testkit.FreeAddr's).
func freePort(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(testkit.FreeAddr(t))
	require.NoError(t, err)
	return port
}

// runBinary runs the built cliser with exactly env (no inherited
// variables) and returns its combined output and exit code.
func runBinary(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

// The container runs `cliser serve` configured by environment alone, and
// probes it with `cliser health` from the same environment. This is that,
// minus the container: the built binary, only CLISER_* variables, no flag
// but the subcommand, and ":PORT" addresses as in the image.
func TestBinaryConfiguredByEnvironmentOnly(t *testing.T) {
	const token = "env-only-admin-token"
	var listenPort, adminPort string
	var cmd *exec.Cmd
	var logs *testkit.LockedBuffer
	var exited chan error
	// A port found free may be taken by another process before serve binds
	// it; then serve exits saying so, and the test tries other ports.
	for attempt := 0; ; attempt++ {
		listenPort, adminPort = freePort(t), freePort(t)
		env := []string{
			"CLISER_LISTEN=:" + listenPort,
			"CLISER_ADMIN_LISTEN=:" + adminPort,
			"CLISER_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
			"CLISER_PASSWORD=" + opsPassword,
			"CLISER_ADMIN_TOKEN=" + token,
			"CLISER_KEEPALIVE_INTERVAL=1h",
		}
		cmd, logs, exited = startEnvOnly(t, env)
		err := waitHealthy(t, adminPort, exited)
		if err == nil {
			break
		}
		if !strings.Contains(logs.String(), "address already in use") || attempt == 4 {
			t.Fatalf("serve never became healthy: %v\n%s", err, logs.String())
		}
	}
	dataDir := strings.TrimPrefix(envOf(cmd, "CLISER_DATA_DIR"), "CLISER_DATA_DIR=")

	// The probe's environment is the container's: it finds the admin
	// listener from CLISER_ADMIN_LISTEN and needs no token.
	probeEnv := []string{"CLISER_ADMIN_LISTEN=:" + adminPort}
	out, code := runBinary(t, probeEnv, "health", "--ready")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "http://127.0.0.1:"+adminPort+"/readyz: ok")

	opsConnect(t, "127.0.0.1:"+listenPort, opsPassword, "env-only-1")
	out, code = runBinary(t, probeEnv, "clients", "list", "-o", "json")
	assert.Equal(t, 1, code, "the token is wanted for the API: %s", out)
	assert.Contains(t, out, "set CLISER_ADMIN_TOKEN")
	out, code = runBinary(t, append(probeEnv, "CLISER_ADMIN_TOKEN="+token), "clients", "list", "-o", "json")
	require.Equal(t, 0, code, out)
	list := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, list.Clients, 1)
	assert.Equal(t, "env-only-1", list.Clients[0].CID)
	_, err := os.Stat(filepath.Join(dataDir, logstore.LogName))
	assert.NoError(t, err, "the registry lives in CLISER_DATA_DIR")
	testkit.WaitLog(t, waitFor, logs.String, `"msg":"admin API listening"`, `"token":true`)
	assert.NotContains(t, logs.String(), "without a token")
	assert.NotContains(t, logs.String(), token, "the admin token reached the logs")
	assert.NotContains(t, logs.String(), opsPassword, "the password reached the logs")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		require.NoError(t, err, "exit status 0 after SIGTERM:\n%s", logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit:\n%s", logs.String())
	}
	out, code = runBinary(t, probeEnv, "health")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "/healthz")
}

// startEnvOnly starts `cliser serve` with exactly env and no flags, in a
// working directory of its own (so nothing is found by a relative default).
// exited yields Wait's result and is refilled by whoever reads it.
func startEnvOnly(t *testing.T, env []string) (*exec.Cmd, *testkit.LockedBuffer, chan error) {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), "serve")
	cmd.Env = env
	cmd.Dir = t.TempDir()
	logs := &testkit.LockedBuffer{}
	cmd.Stderr = logs
	require.NoError(t, tied.Start(cmd))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd, logs, exited
}

// waitHealthy polls `cliser health` (with only CLISER_ADMIN_LISTEN set)
// until it exits 0, or serve exits, or 20s pass.
func waitHealthy(t *testing.T, adminPort string, exited chan error) error {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("serve exited early: %v", err)
		default:
		}
		if _, code := runBinary(t, []string{"CLISER_ADMIN_LISTEN=:" + adminPort}, "health"); code == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not a guess at readiness
	}
	return errors.New("not healthy within 20s")
}

func envOf(cmd *exec.Cmd, name string) string {
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, name+"=") {
			return kv
		}
	}
	return ""
}

// An admin API open beyond loopback without a token is logged as a warning
// that says what to set.
func TestBinaryWarnsOfOpenAdminAPI(t *testing.T) {
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="},
		"--listen", "127.0.0.1:0", "--admin-listen", ":0", "--data-dir", t.TempDir())
	assert.Contains(t, p.LogText(), `"msg":"admin API reachable beyond this host without a token: set CLISER_ADMIN_TOKEN or --admin-token-file"`)

	q := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}, serveArgs(t.TempDir())...)
	assert.Contains(t, q.LogText(), `"token":false`)
	assert.NotContains(t, q.LogText(), "without a token", "loopback needs no warning")
}

// An admin peer that never finishes its request cannot hold the stop past
// --shutdown-timeout or turn its exit status into a failure.
func TestBinaryDrainIgnoresStalledAdminPeer(t *testing.T) {
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="},
		serveArgs(t.TempDir(), "--shutdown-timeout", "1s")...)
	stalled, err := net.Dial("tcp", p.AdminAddr)
	require.NoError(t, err)
	defer stalled.Close()
	_, err = stalled.Write([]byte("GET /v1/clients HTTP/1.1\r\nHost: cliser\r\n")) // no blank line: never done
	require.NoError(t, err)
	c := opsConnect(t, p.Addr, opsPassword, "with-stalled-admin")

	start := time.Now()
	p.Terminate(t)
	c.ExpectClosed(testkit.CloseLine(protocol.ReasonServerShuttingDown))
	assert.Equal(t, 0, p.Wait(t), p.LogText())
	assert.Less(t, time.Since(start), 5*time.Second, "the stop is bounded by --shutdown-timeout")
	assert.Contains(t, p.LogText(), `"msg":"stopped; registry written"`)
}
