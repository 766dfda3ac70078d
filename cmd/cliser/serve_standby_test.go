package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/freeport"
	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry/logstore"
)

// A single node answers /readyz 503 while it starts, as INTERFACE.md
// says: here while it waits for its data dir's lock, which this test
// holds. Before, the admin address bound only once the registry was
// loaded, and a probe was refused a connection until then.
func TestBinaryReadyzSays503WhileStarting(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	lock, err := fsx.OpenLocked(filepath.Join(dataDir, logstore.LogName), 0o600, 0)
	require.NoError(t, err)
	defer lock.Close()
	admin, err := freeport.Loopback()
	require.NoError(t, err)
	p := testkit.Start(t, append(os.Environ(), "CLISER_PASSWORD="+opsPassword, "CLISER_ADMIN_TOKEN="),
		append([]string{"serve"}, serveArgsAdmin(dataDir, admin)...)...)

	readyz := func() (int, string) { return getNoFail("http://" + admin + "/readyz") }
	var code int
	var body string
	require.Eventually(t, func() bool {
		code, body = readyz()
		return code != 0
	}, waitFor, 5*time.Millisecond, "the admin address never answered:\n%s", p.LogText())
	assert.Equal(t, http.StatusServiceUnavailable, code, "while the data dir's lock is held: %s", body)
	assert.Contains(t, body, "starting")
	h, hbody := getNoFail("http://" + admin + "/healthz")
	assert.Equal(t, http.StatusOK, h, "alive while it starts: %s", hbody)
	// A read is no command: status said "could not take the command now"
	// (metrics audit).
	_, _, err = runCLI(t, "status", "--admin", admin)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the server could not answer the request now: ")
	assert.Contains(t, err.Error(), "starting")

	require.NoError(t, lock.Close()) // within the server's 2 s wait for it
	require.Eventually(t, func() bool {
		code, body = readyz()
		return code == http.StatusOK
	}, waitFor, 10*time.Millisecond, "never ready after the lock was freed: %d %s\n%s", code, body, p.LogText())
	assert.False(t, strings.Contains(p.LogText(), "admin listener up"), "a single node's standby is not logged")
}
