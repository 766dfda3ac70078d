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

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// SIGTERM while only the event log's disk is full (events.db bind-mounted
// from a small tmpfs, the registry on a roomy disk): the queued events are
// lost, and the stop says so in its exit status. It exited 0 with
// "stopped; registry written", one ERROR line earlier being the only trace.
func TestBinaryStopThatLosesEventsExitsOne(t *testing.T) {
	p := serveWithEventsFailing(t)
	status, _ := testkit.HTTPGet(t, p.AdminURL(t)+"/readyz")
	require.Equal(t, http.StatusOK, status, "the registry still writes: only the log fails")

	p.Terminate(t)
	code := p.Wait(t)
	logs := p.LogText()
	assert.Equal(t, 1, code, "a stop that lost events is not clean:\n%s", logs[max(0, len(logs)-1500):])
	assert.Contains(t, logs, "queued events were not written")
	assert.NotContains(t, logs, "stopped; registry written")
}

// A stop out of time gives up the events it cannot write at its
// deadline, not after the writer's 3 s grace: all of a stop is within
// --shutdown-timeout (a second signal ends it the same way).
func TestBinaryStopOutOfTimeGivesUpEventsAtItsDeadline(t *testing.T) {
	p := serveWithEventsFailing(t, "--shutdown-timeout", "300ms")
	t0 := time.Now()
	p.Terminate(t)
	code := p.Wait(t)
	took := time.Since(t0)
	logs := p.LogText()
	assert.Equal(t, 1, code, "a stop that lost events is not clean:\n%s", logs[max(0, len(logs)-1500):])
	assert.Contains(t, logs, "queued events were not written")
	assert.Less(t, took, 2*time.Second, "the 300ms stop waited out the event writer's 3 s grace")
}

// serveWithEventsFailing is serve whose event log's disk is full
// (events.db bind-mounted from a small tmpfs, the registry on a roomy
// disk), with 300 clients' events queued and failing.
func serveWithEventsFailing(t *testing.T, extra ...string) *testkit.Served {
	t.Helper()
	small := testkit.SmallDisk(t, "1m")
	dataDir := t.TempDir()
	evFile := filepath.Join(dataDir, events.FileName)
	for _, f := range []string{filepath.Join(small, events.FileName), evFile} {
		require.NoError(t, os.WriteFile(f, nil, 0o600))
	}
	if out, err := exec.Command("mount", "--bind", filepath.Join(small, events.FileName), evFile).CombinedOutput(); err != nil {
		t.Skipf("mount --bind is not permitted here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", evFile).Run() })

	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir, extra...)...)
	base := p.AdminURL(t)
	testkit.FillDisk(t, small)
	for i := range 300 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("lost-%03d", i))
	}
	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/readyz")
		return strings.Contains(body, "event log: writes to")
	}, waitFor, 20*time.Millisecond, "/readyz names the event log's fault")
	return p
}
