package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
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
