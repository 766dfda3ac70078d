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

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
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
	testkit.RemoveUnderWriter(t, dataDir)
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

	testkit.RemoveUnderWriter(t, dataDir)
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

// The data dir removed while its disk is full: the removed files still
// hold their room (the server has them open), so none can be written
// back. Each store says so (/readyz: the identity store's restore
// failing with no space, the registry's store unready) and loses
// nothing: once there is room they are back at their path, and a kill
// -9 then a restart finds every credential and record, those taken
// while the disk was full too.
func TestBinaryRemovedDataDirOnAFullDiskIsWrittenBackOnceThereIsRoom(t *testing.T) {
	disk := testkit.SmallDisk(t, "8m")
	dataDir := filepath.Join(disk, "data")
	env := []string{"CLISER_PASSWORD=" + idPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	ctx := context.Background()
	_, err := apiOf(t, p).CreateCredential(ctx, "before-full", "")
	require.NoError(t, err)
	opsConnect(t, p.Addr, idPassword, "full-before")
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logstore.MetricEntries)
		return ok && n >= 1
	}, waitFor, tick, "the record written")

	room := testkit.FillDisk(t, disk)
	testkit.RemoveUnderWriter(t, dataDir)
	// Files no process holds open (the event log's events.seq) gave
	// their room back: taken too, so that none can be written back.
	roomFreed := testkit.FillDisk(t, disk)
	opsConnect(t, p.Addr, idPassword, "full-during")
	require.Eventually(t, func() bool {
		code, body := testkit.HTTPGet(t, base+"/readyz")
		return code == 503 && strings.Contains(body, `"identity":"identity store: its file `+filepath.Join(dataDir, boltstore.FileName)) &&
			strings.Contains(body, "restoring it failed") && strings.Contains(body, "no space left on device")
	}, waitFor, 20*time.Millisecond, "/readyz says the files cannot be written back:\n%s", p.LogText())
	_, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Regexp(t, `"error":"registry store cannot write since [^"]*registry.log: no space left on device"`, body)
	assert.Regexp(t, `"events":"event log: its file [^"]*restoring it failed [^"]*no space left on device`, body)

	room()
	roomFreed()
	require.Eventually(t, func() bool {
		code, body := testkit.HTTPGet(t, base+"/readyz")
		return code == 200 && !strings.Contains(body, `"identity"`) && !strings.Contains(body, `"events"`)
	}, 2*waitFor, 20*time.Millisecond, "/readyz clears once the files are back")
	for _, name := range []string{boltstore.FileName, logstore.LogName, events.FileName} {
		_, err := os.Stat(filepath.Join(dataDir, name))
		assert.NoError(t, err, "%s is back at its path", name)
	}
	left, err := filepath.Glob(filepath.Join(dataDir, "*.restore"))
	require.NoError(t, err)
	assert.Empty(t, left, "a failed restore leaves no part of a file")
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, "cliser_registry_pending_writes")
		return ok && n == 0
	}, waitFor, tick, "the registry's writes are on disk")

	require.NoError(t, p.Cmd.Process.Kill())
	<-p.Exited
	p2 := testkit.Serve(t, env, serveArgs(dataDir)...)
	list, err := apiOf(t, p2).ListCredentials(ctx, 100, "")
	require.NoError(t, err)
	require.Len(t, list.Credentials, 1)
	assert.Equal(t, "before-full", list.Credentials[0].CID)
	got := records(t, apiOf(t, p2))
	connected := map[string]bool{}
	for _, ev := range allEvents(t, apiOf(t, p2), admin.EventsFilter{}) {
		connected[ev.CID] = connected[ev.CID] || ev.Type == events.TypeConnected
	}
	for _, cid := range []string{"full-before", "full-during"} {
		_, ok := got[cid]
		assert.True(t, ok, "%s's record lost:\n%s", cid, p.LogText())
		assert.True(t, connected[cid], "%s's client.connected lost", cid)
	}
}

// The data dir removed while the process is at its descriptor ceiling
// (open-files limit 1200, the admin listener and the protocol
// connections at their caps): putting the files back opens several
// (each bbolt file's copy, the reopened database, its watch; the
// registry's log), and the descriptor reserve covers them. Every store
// is back at its path, /readyz is clear, and a kill -9 then a restart
// finds every credential, record and event.
func TestBinaryRemovedDataDirIsWrittenBackAtTheDescriptorCeiling(t *testing.T) {
	wrap := prlimitOrSkip(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"CLISER_PASSWORD=fd-pw", "CLISER_ADMIN_TOKEN="}
	args := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dataDir,
		"--keepalive-interval", "1h", "--handshake-timeout", "2m", "--max-handshakes-per-ip", "0"}
	p := testkit.ServeWrapped(t, wrap, env, args...)
	base := p.AdminURL(t)
	ctx := context.Background()
	_, err := apiOf(t, p).CreateCredential(ctx, "at-the-ceiling", "")
	require.NoError(t, err)
	opsConnect(t, p.Addr, "fd-pw", "ceiling-before")

	fillToTheCeiling(t, p)
	testkit.RemoveUnderWriter(t, dataDir)
	_, err = apiOf(t, p).CreateCredential(ctx, "after-removal", "")
	require.NoError(t, err, "taken into the open file at the ceiling")
	require.Eventually(t, func() bool {
		lost, ok := testkit.Metric(base, boltstore.MetricLost)
		restored := strings.Count(p.LogText(), "its file is back at its path")
		return ok && lost == 1 && restored == 2
	}, 2*waitFor, 20*time.Millisecond, "identity.db and events.db put back:\n%s", p.LogText())
	p.WaitLog(t, waitFor, "registry: its files in the data dir were removed or replaced while the server ran")
	code, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Equal(t, 200, code, body)
	assert.NotContains(t, body, `"identity"`)
	assert.NotContains(t, body, `"events"`)
	for _, name := range []string{boltstore.FileName, logstore.LogName, events.FileName} {
		_, err := os.Stat(filepath.Join(dataDir, name))
		assert.NoError(t, err, "%s is back at its path", name)
	}
	assert.NotContains(t, p.LogText(), "too many open files")

	require.NoError(t, p.Cmd.Process.Kill())
	<-p.Exited
	p2 := testkit.Serve(t, env, args...)
	list, err := apiOf(t, p2).ListCredentials(ctx, 100, "")
	require.NoError(t, err)
	var cids []string
	for _, c := range list.Credentials {
		cids = append(cids, c.CID)
	}
	assert.ElementsMatch(t, []string{"at-the-ceiling", "after-removal"}, cids)
	_, ok := records(t, apiOf(t, p2))["ceiling-before"]
	assert.True(t, ok, "the record is lost")
	var seen []string
	for _, ev := range allEvents(t, apiOf(t, p2), admin.EventsFilter{}) {
		seen = append(seen, ev.Type+" "+ev.CID)
	}
	assert.Subset(t, seen, []string{"client.connected ceiling-before", "credential.created after-removal"})
}
