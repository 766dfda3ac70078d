package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// metricOf reads one unlabelled sample from a /metrics text page.
func metricOf(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
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
	base := adminAddrOf(t, p)
	code, body := readyz(t, base)
	require.Equal(t, http.StatusOK, code, body)

	const n = 800 // about 100 KB of records: more than the disk holds
	clients := make([]*testkit.RawClient, 0, n)
	for i := range n {
		clients = append(clients, opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("full-disk-%04d", i)))
	}
	require.Eventually(t, func() bool {
		code, _ := readyz(t, base)
		return code == http.StatusServiceUnavailable
	}, waitFor, 20*time.Millisecond, "/readyz says the store cannot write")
	_, body = readyz(t, base)
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
		code, _ := readyz(t, base)
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
