package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry/logstore"
	"github.com/cliser/cliser/webhook"
)

// The data dir deleted under `cliser serve` (rm -rf, a tmp cleaner):
// identity.db went on taking credentials into an unlinked file, /readyz
// said ready, the stop said all was written, and the restart had no
// credential. Now the file is put back with every write; /readyz and
// the metrics say so while it cannot be.
func TestBinaryKeepsCredentialsWhenTheDataDirIsRemoved(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"CLISER_PASSWORD=" + idPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	ctx := context.Background()
	_, err := apiOf(t, p).CreateCredential(ctx, "before-rm", "")
	require.NoError(t, err)

	// Deleted, and a file where it was: the file cannot be put back yet.
	require.NoError(t, os.RemoveAll(dataDir))
	require.NoError(t, os.WriteFile(dataDir, []byte("in the way"), 0o600))
	_, err = apiOf(t, p).CreateCredential(ctx, "after-rm", "")
	require.NoError(t, err, "taken into memory and the open file")
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/readyz")
		return strings.Contains(body, `"identity":"identity store: its file `+filepath.Join(dataDir, boltstore.FileName)) &&
			strings.Contains(body, "restoring it failed")
	}, waitFor, 20*time.Millisecond, "/readyz says identity.db is lost")
	lost, ok := testkit.Metric(base, boltstore.MetricLost)
	require.True(t, ok)
	assert.Equal(t, 1.0, lost)

	// The way cleared: put back within a check, and /readyz says no more.
	require.NoError(t, os.Remove(dataDir))
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/readyz")
		return !strings.Contains(body, `"identity"`)
	}, waitFor, 20*time.Millisecond, "/readyz clears once the file is back")
	_, err = os.Stat(filepath.Join(dataDir, boltstore.FileName))
	require.NoError(t, err)

	p.Terminate(t)
	require.Equal(t, 0, p.Wait(t), "%s", p.LogText())
	logs := p.LogText()
	assert.Contains(t, logs, "identity store: its file left the data dir while open")
	assert.Contains(t, logs, "identity store: its file is back at its path")

	p = testkit.Serve(t, env, serveArgs(dataDir)...)
	list, err := apiOf(t, p).ListCredentials(ctx, 100, "")
	require.NoError(t, err)
	var cids []string
	for _, c := range list.Credentials {
		cids = append(cids, c.CID)
	}
	assert.ElementsMatch(t, []string{"before-rm", "after-rm"}, cids)
}

// The data dir removed under a running server (rm -rf, a tmp cleaner):
// every write used to succeed into files no restart reads, and a restart
// came up with no records. The registry's files are written again from
// the open ones within moments, said in the log and counted, so even a
// crash right after loses no record.
func TestBinaryRemovedDataDirIsWrittenAgain(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	rc := newHookReceiver(t, 0)
	args := serveArgs(dataDir, "--webhook-url", rc.srv.URL+"/hook", "--webhook-linger", "20ms")
	p := testkit.Serve(t, webhookEnv(), args...)
	base := p.AdminURL(t)
	for i := range 3 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("dir-%d", i))
	}
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logstore.MetricEntries)
		return ok && n >= 3
	}, waitFor, tick, "the three records written")
	require.Eventually(t, func() bool { _, _, evs := rc.snapshot(); return len(evs) >= 3 }, waitFor, tick, "delivered")

	require.NoError(t, os.RemoveAll(dataDir))
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logstore.MetricLost)
		return ok && n == 1
	}, waitFor, tick, "the files written again:\n%s", p.LogText())
	p.WaitLog(t, waitFor, "its files in the data dir were removed or replaced while the server ran", `"data_dir":"`+dataDir+`"`)
	code, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Equal(t, 200, code, body)

	// The webhook's cursor comes back at its next save: a new event's.
	opsConnect(t, p.Addr, opsPassword, "dir-after")
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, webhook.MetricCursorLost)
		return ok && n == 1
	}, waitFor, tick, "the cursor written again:\n%s", p.LogText())
	p.WaitLog(t, waitFor, "webhook cursor: its file was removed from the data dir")
	_, err := os.Stat(filepath.Join(dataDir, webhook.CursorFile(rc.srv.URL+"/hook")))
	require.NoError(t, err)

	require.NoError(t, p.Cmd.Process.Kill())
	<-p.Exited
	p2 := testkit.Serve(t, webhookEnv(), serveArgs(dataDir)...)
	got := records(t, apiOf(t, p2))
	for i := range 3 {
		r, ok := got[fmt.Sprintf("dir-%d", i)]
		if assert.True(t, ok, "dir-%d lost", i) {
			assert.Equal(t, protocol.ReasonServerRestarted.String(), r.Reason)
		}
	}
}
