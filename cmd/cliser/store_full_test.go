package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry/boltstore"
)

// mountTmpfs mounts a tmpfs of size (mount's syntax: 64k, 8m) on a fresh
// directory, or skips the test when this machine does not allow it.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small-disk")
	require.NoError(t, os.Mkdir(dir, 0o700))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small tmpfs, and mount -t tmpfs is not permitted here (run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// metricOf reads one sample off base's /metrics page (name and labels as
// the page writes them); a missing one fails the test.
func metricOf(t *testing.T, base, series string) float64 {
	t.Helper()
	v, ok := testkit.Metric(base, series)
	require.True(t, ok, "no %s on %s/metrics", series, base)
	return v
}

// A full disk under the data dir (a 64 KiB tmpfs): the clients stay up,
// and the operator is told: one warning, a counter of failed flushes, the
// records waiting, /readyz 503 with the reason. With room again, one line
// says so, /readyz is 200, and a kill -9 then loses nothing.
func TestBinaryFullDiskIsSeenAndRecovers(t *testing.T) {
	dataDir := mountTmpfs(t, "64k")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	args := serveArgs(dataDir, "--event-retention", "0")
	p := testkit.Serve(t, env, args...)
	base := p.AdminURL(t)
	code, body := testkit.HTTPGet(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code, body)

	const n = 800 // about 100 KB of records: more than the disk holds
	clients := make([]*testkit.RawClient, 0, n)
	for i := range n {
		clients = append(clients, opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("full-disk-%04d", i)))
	}
	require.Eventually(t, func() bool {
		code, _ := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	}, waitFor, 20*time.Millisecond, "/readyz says the store cannot write")
	_, body = testkit.HTTPGet(t, base+"/readyz")
	assert.Contains(t, body, `"error"`)
	assert.Contains(t, body, "registry store cannot write since")
	assert.Contains(t, body, "no space left on device")
	require.Eventually(t, func() bool { return metricOf(t, base, "cliser_registry_flush_failures_total") >= 4 },
		waitFor, 20*time.Millisecond, "flushes keep failing, each counted")
	assert.Positive(t, metricOf(t, base, "cliser_registry_pending_writes"))
	assert.Equal(t, 1, strings.Count(p.LogText(), "writing to the store fails"),
		"one warning for the outage, not one per flush:\n%s", p.LogText())

	// Room again: the next flush writes everything.
	out, err := exec.Command("mount", "-o", "remount,size=8m", dataDir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Eventually(t, func() bool {
		code, _ := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusOK
	}, waitFor, 20*time.Millisecond, "/readyz is 200 once the store writes again")
	assert.Zero(t, metricOf(t, base, "cliser_registry_pending_writes"))
	assert.Equal(t, 1, strings.Count(p.LogText(), "writing to the store works again"))
	for _, c := range clients[:3] { // the clients never noticed
		c.Send("130 ok\n") // not asked for: a protocol error proves the session is alive
		c.ExpectClosed("190 protocol error")
	}

	// kill -9: every record is on disk.
	require.NoError(t, p.Cmd.Process.Kill())
	p.WaitExit(t)
	st, err := boltstore.Open(dataDir)
	require.NoError(t, err)
	recs, err := st.Load()
	require.NoError(t, err)
	require.NoError(t, st.Close())
	assert.Len(t, recs, n)
}
