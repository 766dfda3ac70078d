package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// A signal that comes while serve is still starting (here: held reading
// its config file, a FIFO the test fills only after the signal) neither
// kills it nor is lost: SIGHUP leaves it to come up and serve, SIGTERM
// stops it cleanly, exit 0. Before, Go's default for both ended the
// process at once (exit 129 and 143) until serve had caught them.
func TestBinarySignalsWhileStarting(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		serve bool // comes up and serves after it
	}{
		{"SIGHUP", syscall.SIGHUP, true},
		{"SIGTERM", syscall.SIGTERM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, syscall.Mkfifo(fifo, 0o600))
			p := testkit.Start(t, testkit.Environ([]string{"CLISER_PASSWORD"}, "CLISER_PASSWORD="+opsPassword),
				"serve", "--config", fifo, "--listen", "127.0.0.1:0", "--admin-listen", "off",
				"--data-dir", t.TempDir(), "--keepalive-interval", "1h")
			// Opening a FIFO to write waits for its reader: serve is past
			// its start-up and into reading the config when this returns.
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			require.NoError(t, err)
			require.NoError(t, p.Cmd.Process.Signal(tc.sig))
			_, err = w.WriteString("log-level: info\n")
			require.NoError(t, err)
			require.NoError(t, w.Close())

			if !tc.serve {
				// Where the stop lands (before the node opens, while it
				// starts, or once it is up) is the scheduler's; each is a
				// clean stop.
				assert.Equal(t, 0, p.Wait(t), p.LogText())
				assert.Regexp(t, "stopped before starting|stopped while starting|stopped; registry written", p.LogText())
				return
			}
			require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "cliser ready") },
				waitFor, tick, "never ready:\n%s", p.LogText())
			p.RequireRunning(t, "SIGHUP while starting stopped the server")
			require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
			assert.Equal(t, 0, p.Wait(t), p.LogText())
		})
	}
}

// A second SIGTERM during a drain ends the wait at once: here the drain
// waits on an admin request whose body is still coming (the stop holds
// until its 30 s read deadline, under --shutdown-timeout 2m). The
// registry is still written: a restart finds the client's record.
func TestBinarySecondSignalCutsTheDrainShort(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=hurry-token"}
	args := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dir,
		"--keepalive-interval", "1h", "--shutdown-timeout", "2m"}
	p := testkit.Serve(t, env, args...)
	c := opsConnect(t, p.Addr, opsPassword, "hurried-1")

	admin, err := net.DialTimeout("tcp", p.AdminAddr, waitFor)
	require.NoError(t, err)
	defer admin.Close()
	_, err = fmt.Fprintf(admin, "POST /v1/bans HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer hurry-token\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", p.AdminAddr)
	require.NoError(t, err)
	require.NoError(t, admin.SetReadDeadline(time.Now().Add(waitFor)))
	status, err := bufio.NewReader(admin).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, status, "100 Continue", "the handler reads the body (it never comes)")

	p.Terminate(t)
	c.ExpectClosed("190 " + protocol.ReasonServerShuttingDown.String())
	require.Eventually(t, func() bool {
		conn, err := net.DialTimeout("tcp", p.AdminAddr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err != nil
	}, waitFor, tick, "the admin listener never closed:\n%s", p.LogText())
	p.Reload(t)
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "SIGHUP while stopping: nothing reloaded") },
		waitFor, tick, "a SIGHUP in the drain said nothing:\n%s", p.LogText())
	select {
	case <-p.Exited:
		t.Fatalf("the drain did not wait for the admin request (or a SIGHUP ended it):\n%s", p.LogText())
	default:
	}

	p.Terminate(t)
	select {
	case <-p.Exited:
	case <-time.After(waitFor):
		t.Fatalf("the second SIGTERM did not end the drain:\n%s", p.LogText())
	}
	assert.Equal(t, 0, testkit.ExitCode(p.ExitErr), "clients and records in order; only an admin request cut: %s", p.LogText())
	assert.Contains(t, p.LogText(), "second signal: cutting the drain short")
	assert.Contains(t, p.LogText(), "stopped; registry written")

	again := testkit.Serve(t, env, args...)
	code, body := testkit.HTTPDo(t, http.MethodGet, "http://"+again.AdminAddr+"/v1/clients/hurried-1", "",
		http.Header{"Authorization": {"Bearer hurry-token"}})
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"cid":"hurried-1"`)
	assert.Equal(t, 0, again.Stop(t), again.LogText())
}
