package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
)

// A damaged registry file stops `cliser serve` before it serves anyone:
// exit non-zero, a message that names the file and says what to do, and
// no Go panic on stderr. The files are the store's (registry.snap and
// registry.log) or a previous build's registry.db, damaged before its
// migration.
func TestBinaryRefusesDamagedRegistryFile(t *testing.T) {
	for _, c := range []struct {
		name string
		file string
		hurt func(t *testing.T, path string)
	}{
		{"truncated", logstore.LegacyName, halve},
		{"random bytes over the freelist", logstore.LegacyName, func(t *testing.T, path string) {
			p := testkit.FreelistPage(t, path)
			testkit.OverwritePages(t, path, p, p+1, 7)
		}},
		{"random bytes over the pages", logstore.LegacyName, func(t *testing.T, path string) { testkit.OverwritePages(t, path, 2, -1, 8) }},
		{"random bytes over the metas", logstore.LegacyName, func(t *testing.T, path string) { testkit.OverwritePages(t, path, 0, 2, 9) }},
		{"snapshot truncated", logstore.SnapName, halve},
		{"snapshot overwritten", logstore.SnapName, func(t *testing.T, path string) { testkit.OverwritePages(t, path, 0, 1, 10) }},
		{"log with a byte changed", logstore.LogName, func(t *testing.T, path string) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			raw[len(raw)/2] ^= 0x40
			require.NoError(t, os.WriteFile(path, raw, 0o600))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRegistry(t, dir, 2000, c.file != logstore.LegacyName)
			path := filepath.Join(dir, c.file)
			c.hurt(t, path)
			// A serve that started on the damaged file never exits: Run
			// fails the test after its bound.
			text, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD=damage-pw"), "serve", "--listen", "127.0.0.1:0",
				"--admin-listen", "off", "--data-dir", dir)
			assert.NotEqual(t, 0, code, text)
			assert.NotEqual(t, -1, code, "killed by a signal: %s", text)
			assert.Contains(t, text, path, "the message names the file")
			assert.Contains(t, text, "move it away")
			assert.Contains(t, text, "backup")
			if c.file == logstore.SnapName { // its log follows it: refused without one (audit)
				assert.Contains(t, text, "touch "+path)
			}
			assert.NotRegexp(t, `(?m)^panic|\[running\]|goroutine \d+`, text, "a Go panic reached stderr")
			assert.NotContains(t, text, "panic")
			assert.NotContains(t, text, "cliser ready")
		})
	}
}

func halve(t *testing.T, path string) {
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, fi.Size()/2))
}

// A zero-length registry file starts an empty registry, with a warning
// that names the file: the log too, whose emptying went unsaid (audit).
func TestBinaryWarnsOnZeroLengthRegistryFile(t *testing.T) {
	for _, name := range []string{logstore.SnapName, logstore.LegacyName, logstore.LogName} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(path, nil, 0o600))
			p := testkit.Serve(t, []string{"CLISER_PASSWORD=empty-pw"},
				"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
			c := testkit.Dial(t, p.Addr)
			c.Register("empty-pw", "after-empty")
			logs := p.LogText()
			assert.Contains(t, logs, "registry file was empty")
			assert.Contains(t, logs, path)
			assert.Contains(t, logs, `"records":0`)
			assert.Equal(t, 0, p.Stop(t), p.LogText())
		})
	}
}

// Emptied registry files start "an empty registry", and the event log
// brings its clients back: the warning and the registry loaded line say
// so. An ops audit read "starting with an empty registry" over 16,768
// records loaded, and nothing said where they came from.
func TestBinaryEmptiedRegistryCountsWhatTheEventLogBringsBack(t *testing.T) {
	dir := t.TempDir()
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=empty-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	for _, cid := range []string{"back-1", "back-2", "back-3"} {
		testkit.Dial(t, p.Addr).Register("empty-pw", cid)
	}
	assert.Equal(t, 0, p.Stop(t), p.LogText())
	for _, name := range []string{logstore.SnapName, logstore.LogName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			require.NoError(t, os.Truncate(filepath.Join(dir, name), 0))
		}
	}
	p = testkit.Serve(t, []string{"CLISER_PASSWORD=empty-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	logs := p.LogText()
	assert.Contains(t, logs, "registry file was empty")
	assert.Contains(t, logs, "and the clients the event log holds, when on (the registry loaded line counts them: from_event_log)")
	assert.Contains(t, logs, `"records":3,"from_event_log":3`)
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// registry.snap removed while the server was stopped (or left out of a
// copy of the data dir) is refused, exit 1: the log alone holds only the
// last minutes' changes, and before, the server started on them and the
// fleet's other records were gone without a word. The refusal's way on,
// an empty snapshot, starts with a warning.
func TestBinaryRefusesARegistryLogWhoseSnapshotIsMissing(t *testing.T) {
	dir := t.TempDir()
	writeRegistry(t, dir, 200, true)
	snap := filepath.Join(dir, logstore.SnapName)
	require.NoError(t, os.Remove(snap))
	env := testkit.Environ(nil, "CLISER_PASSWORD=missing-pw")
	text, code := testkit.Run(t, env, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	assert.Equal(t, 1, code, text)
	assert.Contains(t, text, snap+": registry.log holds only the changes since a snapshot, and the snapshot is gone")
	assert.Contains(t, text, "put back registry.snap from a backup")
	assert.Contains(t, text, "touch "+snap)
	assert.NotContains(t, text, "cliser ready")

	require.NoError(t, os.WriteFile(snap, nil, 0o600))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=missing-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	testkit.Dial(t, p.Addr).Register("missing-pw", "after-missing")
	assert.Contains(t, p.LogText(), "starting with only the changes its log holds")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// registry.log removed beside its snapshot starts from the snapshot, with
// a warning: the changes since it are lost, and before, without a word
// (upgrade audit).
func TestBinaryWarnsOnARegistryLogMissingBesideItsSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeRegistry(t, dir, 200, true)
	logPath := filepath.Join(dir, logstore.LogName)
	require.NoError(t, os.Remove(logPath))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=missing-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	testkit.Dial(t, p.Addr).Register("missing-pw", "after-missing")
	logs := p.LogText()
	assert.Contains(t, logs, "registry file missing: registry.log beside registry.snap")
	assert.Contains(t, logs, logPath)
	assert.Contains(t, logs, `"records":200`)
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// A registry.db an older build made after the upgrade (a downgrade) is
// refused, exit 1, naming both ways on: before, the next start replaced
// every record of the snapshot and the log with it, and overwrote the
// retired file, without a word (upgrade audit).
func TestBinaryRefusesARegistryDBOfADowngrade(t *testing.T) {
	dir := t.TempDir()
	writeRegistry(t, dir, 200, true)
	require.NoError(t, os.Rename(filepath.Join(dir, logstore.LegacyName+logstore.MigratedSuffix), filepath.Join(dir, "kept")))
	writeRegistry(t, dir, 2, false) // the older build's new file
	require.NoError(t, os.Rename(filepath.Join(dir, "kept"), filepath.Join(dir, logstore.LegacyName+logstore.MigratedSuffix)))
	legacy := filepath.Join(dir, logstore.LegacyName)
	env := testkit.Environ(nil, "CLISER_PASSWORD=two-pw")
	text, code := testkit.Run(t, env, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	assert.Equal(t, 1, code, text)
	assert.Contains(t, text, "registry files of two builds")
	assert.Contains(t, text, "mv "+legacy+" "+legacy+".downgrade")
	assert.NotContains(t, text, "cliser ready")

	require.NoError(t, os.Rename(legacy, legacy+".downgrade"))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=two-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	assert.Contains(t, p.LogText(), `"records":200`, "this build's records, kept")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// Without registry.db.migrated (deleted, as docs/operations.md allows,
// or a data dir this build made) an older build's new registry.db was
// taken in place of the snapshot and the log: every record they held
// was gone, said by an info line (upgrade audit). Lacking their clients,
// it is refused the same way.
func TestBinaryRefusesARegistryDBThatLacksTheRecordsBesideIt(t *testing.T) {
	dir := t.TempDir()
	writeRegistry(t, dir, 200, true)
	legacy := filepath.Join(dir, logstore.LegacyName)
	require.NoError(t, os.Remove(legacy+logstore.MigratedSuffix))
	writeRegistry(t, dir, 2, false) // the older build's new file
	env := testkit.Environ(nil, "CLISER_PASSWORD=two-pw")
	text, code := testkit.Run(t, env, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	assert.Equal(t, 1, code, text)
	assert.Contains(t, text, "registry files of two builds")
	assert.Contains(t, text, "lacks 198 client IDs")
	assert.Contains(t, text, "mv "+legacy+" "+legacy+".downgrade")

	require.NoError(t, os.Rename(legacy, legacy+".downgrade"))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=two-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	assert.Contains(t, p.LogText(), `"records":200`, "this build's records, kept")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// So do a zero-length identity.db and events.db: bbolt would make each a
// new file without a word, and with it every credential, or the seqs
// readers keep, would be gone unannounced.
func TestBinaryWarnsOnZeroLengthIdentityAndEventFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		filepath.Join(dir, "identity.db"): "identity file was empty",
		filepath.Join(dir, "events.db"):   "event log file was empty",
	}
	for path := range files {
		require.NoError(t, os.WriteFile(path, nil, 0o600))
	}
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=empty-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	c := testkit.Dial(t, p.Addr)
	c.Register("empty-pw", "after-empty")
	logs := p.LogText()
	for path, warning := range files {
		assert.Contains(t, logs, warning)
		assert.Contains(t, logs, path)
	}
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// A start without identity.db's credentials and bans (the file empty, or
// missing from a data dir used before) lets every enrolled client ID in
// on the shared password: besides the warning, /v1/health's identity note
// says so (the dashboard's banner, cliser status) until a credential or a
// ban is made again, and the server stays ready (found by the identity
// audit: a warning at start alone).
func TestBinaryHealthSaysIdentityStartedWithoutItsFile(t *testing.T) {
	for _, lose := range []string{"emptied", "removed"} {
		t.Run(lose, func(t *testing.T) {
			dir := t.TempDir()
			env := []string{"CLISER_PASSWORD=lost-pw", "CLISER_ADMIN_TOKEN="}
			args := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dir}
			p := testkit.Serve(t, env, args...)
			api := apiOf(t, p)
			_, err := api.CreateCredential(context.Background(), "enrolled-1", "")
			require.NoError(t, err)
			h, err := api.Health(context.Background())
			require.NoError(t, err)
			assert.Empty(t, h.Notes["identity"], "a new data dir lost nothing")
			require.Equal(t, 0, p.Stop(t), p.LogText())

			path := filepath.Join(dir, "identity.db")
			if lose == "emptied" {
				require.NoError(t, os.WriteFile(path, nil, 0o600))
			} else {
				require.NoError(t, os.Remove(path))
			}
			p = testkit.Serve(t, env, append(args, "--flap-limit", "2")...)
			api = apiOf(t, p)
			h, err = api.Health(context.Background())
			require.NoError(t, err)
			assert.True(t, h.Ready, "clients are still served")
			assert.Contains(t, h.Notes["identity"], "without the credentials and bans of "+path)
			assert.Contains(t, h.Notes["identity"], "every client ID falls back to the shared password")
			testkit.Dial(t, p.Addr).Register("lost-pw", "enrolled-1")

			// A flapping ban is no operator's doing: the note stays.
			testkit.Dial(t, p.Addr).Register("lost-pw", "enrolled-1")
			require.Eventually(t, func() bool {
				l, err := api.ListBans(context.Background(), "cid", 0, "")
				return err == nil && len(l.Bans) == 1 && l.Bans[0].By == "flapping"
			}, waitFor, tick)
			h, err = api.Health(context.Background())
			require.NoError(t, err)
			assert.Contains(t, h.Notes["identity"], "without the credentials and bans", "a flapping ban rebuilds nothing")

			// Nor does a restart: the new file is no real one (audit).
			require.Equal(t, 0, p.Stop(t), p.LogText())
			p = testkit.Serve(t, env, args...)
			api = apiOf(t, p)
			h, err = api.Health(context.Background())
			require.NoError(t, err)
			assert.Contains(t, h.Notes["identity"], "without the credentials and bans of "+path, "said again after a restart")

			_, err = api.CreateBan(context.Background(), admin.BanRequest{Kind: "cid", Value: "someone", Reason: "again"})
			require.NoError(t, err)
			h, err = api.Health(context.Background())
			require.NoError(t, err)
			assert.Empty(t, h.Notes["identity"], "the operator has begun again")
			require.Equal(t, 0, p.Stop(t), p.LogText())
			p = testkit.Serve(t, env, args...)
			h, err = apiOf(t, p).Health(context.Background())
			require.NoError(t, err)
			assert.Empty(t, h.Notes["identity"], "and stays gone after a restart")
			assert.Equal(t, 0, p.Stop(t), p.LogText())
		})
	}
}

// identity.db or events.db removed from a data dir used before starts
// anew as an empty one does, and says so: a missing identity.db let every
// client ID in on the shared password and lifted every ban without a
// word. A first start in a new data dir says nothing of the kind.
func TestBinaryWarnsOnMissingIdentityAndEventFiles(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CLISER_PASSWORD=missing-pw", "CLISER_ADMIN_TOKEN="}
	args := []string{"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir}
	p := testkit.Serve(t, env, args...)
	testkit.Dial(t, p.Addr).Register("missing-pw", "before-missing")
	require.Equal(t, 0, p.Stop(t), p.LogText())
	assert.NotContains(t, p.LogText(), "is missing from a data dir", "a new data dir is not a lost file")

	files := map[string]string{
		filepath.Join(dir, "identity.db"): "identity file is missing from a data dir that holds the registry: starting with no credentials and no bans",
		filepath.Join(dir, "events.db"):   "event log file is missing from a data dir that holds the registry: starting an empty log",
	}
	for path := range files {
		require.NoError(t, os.Remove(path))
	}
	p = testkit.Serve(t, env, args...)
	testkit.Dial(t, p.Addr).Register("missing-pw", "after-missing")
	logs := p.LogText()
	for path, warning := range files {
		assert.Contains(t, logs, warning)
		assert.Contains(t, logs, path)
	}
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// Both registry files removed from a data dir that holds the others
// start with the registry the event log rebuilds, and say so: that start
// said nothing (black-box audit).
func TestBinaryWarnsOnRegistryFilesMissingBesideTheOthers(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CLISER_PASSWORD=missing-pw", "CLISER_ADMIN_TOKEN="}
	args := []string{"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir}
	p := testkit.Serve(t, env, args...)
	testkit.Dial(t, p.Addr).Register("missing-pw", "before-missing")
	require.Equal(t, 0, p.Stop(t), p.LogText())
	assert.NotContains(t, p.LogText(), "registry files missing", "a new data dir is not a lost file")

	for _, name := range []string{logstore.SnapName, logstore.LogName} { // a snapshot only once compacted
		if err := os.Remove(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			require.NoError(t, err)
		}
	}
	p = testkit.Serve(t, env, args...)
	testkit.Dial(t, p.Addr).Register("missing-pw", "after-missing")
	assert.Contains(t, p.LogText(), "registry files missing from a data dir that holds identity.db or events.db")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// writeRegistry writes n records into dir's registry.db as a previous
// build did (bbolt, commits of 400: the file has a freelist). With
// migrate, the store then opens it (the records become its snapshot),
// saves 100 of them again (its log) and closes.
func writeRegistry(t *testing.T, dir string, n int, migrate bool) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, logstore.LegacyName), 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 0; i < n; {
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("clients"))
			if err != nil {
				return err
			}
			for end := min(i+400, n); i < end; i++ {
				cid := fmt.Sprintf("dev-%05d", i)
				v := fmt.Sprintf(`{"v":1,"sid":%d,"cid":%q,"cip":"10.1.2.3","cport":"4242",`+
					`"connected_at":%q,"last_seen":%q,"disconnected_at":%q}`, i+1, cid, now, now, now)
				if err := b.Put([]byte(cid), []byte(v)); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	require.NoError(t, db.Close())
	if !migrate {
		return
	}
	s, err := logstore.Open(dir)
	require.NoError(t, err)
	recs, err := s.Load()
	require.NoError(t, err)
	require.Len(t, recs, n)
	require.NoError(t, s.Save(recs[:100], nil))
	require.NoError(t, s.Close())
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
	const n = 800
	dataDir, p, clients := serveOnAFullDisk(t, n)
	base := p.AdminURL(t)
	_, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Contains(t, body, `"error"`)
	assert.Contains(t, body, "registry store cannot write since")
	assert.Contains(t, body, "no space left on device")
	code, body := testkit.HTTPGet(t, base+"/v1/health") // the dashboard's banner
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `{"ready":false,"error":"registry store cannot write since`)
	status, _, err := runCLI(t, "status", "--admin", base)
	require.NoError(t, err, "status reads a node that is not ready")
	assert.Regexp(t, `(?m)^health:\s+NOT READY: registry store cannot write since .*no space left on device`, status)
	require.Eventually(t, func() bool { return metricOf(t, base, "cliser_registry_flush_failures_total") >= 4 },
		waitFor, 20*time.Millisecond, "flushes keep failing, each counted")
	assert.Positive(t, metricOf(t, base, "cliser_registry_pending_writes"))
	// The warning says what to fix; it may trail the counter in the pipe.
	p.WaitLog(t, waitFor, "writing to the store fails", "free space in the data dir")
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
	p.WaitLog(t, waitFor, "writing to the store works again")
	assert.Equal(t, 1, strings.Count(p.LogText(), "writing to the store works again"))
	for _, c := range clients[:3] { // the clients never noticed
		c.Send("130 ok\n") // not asked for: a protocol error proves the session is alive
		c.ExpectClosed("190 protocol error")
	}

	// kill -9: every record is on disk.
	require.NoError(t, p.Cmd.Process.Kill())
	p.WaitExit(t)
	assert.Len(t, recordsOnDisk(t, dataDir), n)
}

// recordsOnDisk is what dataDir's registry files hold, read once the
// server is gone.
func recordsOnDisk(t *testing.T, dataDir string) []registry.Record {
	t.Helper()
	st, err := logstore.Open(dataDir)
	require.NoError(t, err)
	recs, err := st.Load()
	require.NoError(t, err)
	require.NoError(t, st.Close())
	return recs
}

// serveOnAFullDisk is serve on a 64 KiB tmpfs with n clients registered:
// about 100 KB of records for n = 800, more than the disk holds, so
// /readyz already says the store cannot write.
func serveOnAFullDisk(t *testing.T, n int) (string, *testkit.Served, []*testkit.RawClient) {
	t.Helper()
	dataDir := testkit.SmallDisk(t, "64k")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir, "--event-retention", "0")...)
	base := p.AdminURL(t)
	code, body := testkit.HTTPGet(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code, body)
	clients := make([]*testkit.RawClient, 0, n)
	for i := range n {
		clients = append(clients, opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("full-disk-%04d", i)))
	}
	require.Eventually(t, func() bool {
		code, _ := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	}, waitFor, 20*time.Millisecond, "/readyz says the store cannot write")
	return dataDir, p, clients
}

// TestBinaryStopOnAFullDiskSaysWhatIsLost: a stop while the registry
// cannot write exits 1 and says how many records are lost, as the event
// log's stop does; it gave the store's error alone, which reads as a
// failed write, not as clients gone from the next start.
func TestBinaryStopOnAFullDiskSaysWhatIsLost(t *testing.T) {
	_, p, _ := serveOnAFullDisk(t, 800)
	p.Terminate(t)
	code := p.Wait(t)
	logs := p.LogText()
	assert.Equal(t, 1, code, logs[max(0, len(logs)-1500):])
	assert.Regexp(t, `registry: [1-9]\d* records not written to the store at close, and lost`, logs)
	assert.Contains(t, logs, "no space left on device")
}

// A full disk under events.db and identity.db (a 2 MiB tmpfs, filled
// while the server runs): handshakes go on; the log's failing writes are
// logged once, counted, and /readyz names the fault and the events that
// wait; a credential answers a JSON 503 and is counted. With room again
// the waiting events are written (none lost), credentials are made, and
// after a restart both files read back whole.
func TestBinaryEventsAndIdentityFullDisk(t *testing.T) {
	dataDir := testkit.SmallDisk(t, "2m")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	status, body := testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/before-full", "", nil)
	require.Equal(t, http.StatusCreated, status, body)

	free := testkit.FillDisk(t, dataDir)
	const n = 400 // 400 events of ~300 bytes: more than bbolt's free pages hold
	clients := make([]*testkit.RawClient, 0, n)
	start := time.Now()
	for i := range n {
		clients = append(clients, opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("full-%04d", i)))
	}
	t.Logf("%d handshakes on a full disk in %v", n, time.Since(start))

	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/readyz")
		return strings.Contains(body, "event log: writes to")
	}, waitFor, 20*time.Millisecond, "/readyz names the event log's fault")
	_, body = testkit.HTTPGet(t, base+"/readyz")
	assert.Contains(t, body, "no space left on device")
	assert.Contains(t, body, "events wait in memory")
	require.Eventually(t, func() bool { return metricOf(t, base, events.MetricStoreErrors) >= 3 },
		waitFor, 20*time.Millisecond, "failing writes are retried, each counted")
	assert.Positive(t, metricOf(t, base, events.MetricQueued), "the events wait")
	// Counted when stored, so never more than the log holds (read first:
	// the newest seq moves before the count does).
	counted := metricOf(t, base, events.MetricEvents+`{type="client.connected"}`)
	assert.LessOrEqual(t, counted, metricOf(t, base, events.MetricNewestSeq),
		"the events a failing write holds are in cliser_events_queued, not counted as in the log")
	assert.Equal(t, 1, logCount(t, p, "events: writing to the log failed"),
		"one error line for the outage, not one per try:\n%s", p.LogText())

	// A credential that fits into the file's free pages is still written
	// (bbolt reuses them); the first that needs room answers a JSON 503,
	// counted, and is not half made.
	made := []string{"before-full"}
	refused := ""
	for i := 0; i < 2000 && refused == ""; i++ {
		cid := fmt.Sprintf("during-full-%04d", i)
		status, body = testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/"+cid, "", nil)
		switch status {
		case http.StatusCreated:
			made = append(made, cid)
		case http.StatusServiceUnavailable:
			refused = cid
		default:
			t.Fatalf("POST /v1/credentials/%s: %d %s", cid, status, body)
		}
	}
	require.NotEmpty(t, refused, "a full disk refuses a credential at some point")
	t.Logf("%d credentials fitted into free pages before the first 503", len(made)-1)
	assert.Contains(t, decodeJSON[admin.ErrorResponse](t, body).Error, "no space left on device")
	assert.Positive(t, metricOf(t, base, "cliser_identity_store_errors_total"))
	status, _ = testkit.HTTPGet(t, base+"/v1/credentials/"+refused)
	assert.Equal(t, http.StatusNotFound, status, "a refused credential is not half made")

	// Room again.
	free()
	require.Eventually(t, func() bool {
		code, body := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusOK && !strings.Contains(body, "event log")
	}, waitFor, 20*time.Millisecond, "/readyz is clear once the log writes again")
	assert.Equal(t, 1, logCount(t, p, "events: writes to the log work again"))
	// The first commit that lands clears the note; what waited behind its
	// events goes with the next ones (CI saw 404 still queued at the clear).
	require.Eventually(t, func() bool { return metricOf(t, base, events.MetricQueued) == 0 }, waitFor, 20*time.Millisecond,
		"the events that waited are written")
	assert.Zero(t, metricOf(t, base, events.MetricDropped), "nothing was dropped")
	status, body = testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/"+refused, "", nil)
	require.Equal(t, http.StatusCreated, status, "the refused credential, tried again: %s", body)
	made = append(made, refused)
	for _, c := range clients[:3] { // the clients never noticed
		c.Send("130 ok\n")
		c.ExpectClosed("190 protocol error")
	}
	api := adminClient(t, base)
	connected := func(evs []events.Event) int {
		k := 0
		for _, e := range evs {
			if e.Type == events.TypeConnected && strings.HasPrefix(e.CID, "full-") {
				k++
			}
		}
		return k
	}
	before := allEvents(t, api, admin.EventsFilter{})
	require.Equal(t, n, connected(before), "every event of the outage is in the log")
	for i, e := range before {
		require.Equal(t, uint64(i+1), e.Seq, "seqs have no gap")
	}

	// SIGTERM, check both files, restart: everything reads back.
	require.Zero(t, p.Stop(t), "serve exits cleanly:\n%s", p.LogText())
	assert.NotContains(t, p.LogText(), "the writer stops with events queued")
	for _, f := range []string{events.FileName, "identity.db"} {
		checkBolt(t, filepath.Join(dataDir, f))
	}
	p = testkit.Serve(t, env, serveArgs(dataDir)...)
	base = p.AdminURL(t)
	after := allEvents(t, adminClient(t, base), admin.EventsFilter{})
	require.GreaterOrEqual(t, len(after), len(before))
	assert.Equal(t, before, after[:len(before)], "the log reads back as it was")
	for _, cid := range made {
		status, body = testkit.HTTPGet(t, base+"/v1/credentials/"+cid)
		assert.Equal(t, http.StatusOK, status, "%s: %s", cid, body)
	}
}

// checkBolt runs bbolt's consistency check over the file at path.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	require.NoError(t, err, path)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}), path)
}

// logCount waits until the process has logged msg (its stderr is read by
// another goroutine, a moment after the state it reports is visible) and
// counts the lines that say it.
func logCount(t *testing.T, p *testkit.Served, msg string) int {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), msg) }, waitFor, 20*time.Millisecond, "logged: %s", msg)
	return strings.Count(p.LogText(), msg)
}

// The store's work is on /metrics: the clients' records reach the log in
// Saves, each synced, and the counters say so.
func TestBinaryStoreCountsItsWrites(t *testing.T) {
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(t.TempDir(), "--event-retention", "0")...)
	base := p.AdminURL(t)
	for i := range 3 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("counted-%d", i))
	}
	require.Eventually(t, func() bool { return metricOf(t, base, logstore.MetricEntries) >= 3 },
		waitFor, 20*time.Millisecond, "the three registrations reach the log")
	saves := metricOf(t, base, logstore.MetricSaves)
	assert.Positive(t, saves)
	assert.Equal(t, saves, metricOf(t, base, logstore.MetricSyncs), "one fdatasync a Save")
	assert.Greater(t, metricOf(t, base, logstore.MetricBytes), 3*100.0, "a record is ~200 bytes")
	assert.Zero(t, metricOf(t, base, logstore.MetricCompactions))
}

// A data dir whose disk stops answering (fsfreeze on an ext4 loop disk:
// writes block, none fails) is seen as a full one is: once a write has
// gone 10 s without returning, /readyz is 503 and says so (the event
// log's note too), one warning is logged, and the records wait in
// memory while clients are served;
// thawed, the write returns, one line says so, /readyz is 200 and a
// kill -9 loses nothing. Before, /readyz stayed 200 with no note and the
// log said nothing for as long as the disk was frozen (an audit froze it
// for a minute), though a crash meanwhile lost every change.
func TestBinaryFrozenDiskIsSeenAndRecovers(t *testing.T) {
	t.Parallel()
	disk, freeze := testkit.FrozenDisk(t)
	dataDir := filepath.Join(disk, "data")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	opsConnect(t, p.Addr, opsPassword, "frozen-before")
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logstore.MetricEntries)
		return ok && n >= 1 && metricOf(t, base, "cliser_registry_pending_writes") == 0
	}, waitFor, tick, "the first record on disk")

	thaw := freeze()
	t.Cleanup(thaw) // before the server's cleanup: a kill waits for the thaw
	opsConnect(t, p.Addr, opsPassword, "frozen-during")
	require.Eventually(t, func() bool {
		code, body := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusServiceUnavailable &&
			strings.Contains(body, `"error":"registry store cannot write: a write to it has not returned since`) &&
			strings.Contains(body, `"events":"event log: a write to `+filepath.Join(dataDir, events.FileName)+` has not returned since`)
	}, 3*waitFor, 50*time.Millisecond, "/readyz says the stores do not answer:\n%s", p.LogText())
	p.WaitLog(t, waitFor, "a write to the store has not returned")
	opsConnect(t, p.Addr, opsPassword, "frozen-during-2") // clients are still served
	assert.Positive(t, metricOf(t, base, "cliser_registry_pending_writes"))
	assert.Equal(t, 1, strings.Count(p.LogText(), "a write to the store has not returned"), "one warning")

	thaw()
	require.Eventually(t, func() bool {
		code, _ := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusOK && metricOf(t, base, "cliser_registry_pending_writes") == 0 &&
			metricOf(t, base, "cliser_events_queued") == 0
	}, waitFor, 20*time.Millisecond, "/readyz is 200 once the writes return")
	_, body := testkit.HTTPGet(t, base+"/readyz")
	assert.NotContains(t, body, `"events"`)
	p.WaitLog(t, waitFor, "returned after its stall")

	require.NoError(t, p.Cmd.Process.Kill())
	p.WaitExit(t)
	recs := recordsOnDisk(t, dataDir)
	cids := make([]string, 0, len(recs))
	for _, r := range recs {
		cids = append(cids, r.CID)
	}
	assert.ElementsMatch(t, []string{"frozen-before", "frozen-during", "frozen-during-2"}, cids)
}

// A first start on a full disk fails (exit 1) and leaves an empty
// registry.log and nothing else. Once there is room, the next start is
// a new data dir's: no warning that identity.db or events.db went
// missing, and no "identity" note on /readyz. Before, it took the empty
// log for a used dir, warned that both files were lost and kept saying
// on /readyz that the server started without its credentials and bans,
// until an operator enrolled or banned (edge audit).
func TestBinaryFirstStartOnAFullDiskLeavesNoFalseAlarm(t *testing.T) {
	disk := testkit.SmallDisk(t, "2m")
	dataDir := filepath.Join(disk, "data")
	room := testkit.FillDisk(t, disk)
	env := testkit.Environ(nil, "CLISER_PASSWORD="+opsPassword, "CLISER_ADMIN_TOKEN=")
	text, code := testkit.Run(t, env, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dataDir)
	require.Equal(t, 1, code, text)
	require.Contains(t, text, "no space left on device")

	room()
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	opsConnect(t, p.Addr, opsPassword, "after-full-first-start")
	code, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	assert.NotContains(t, body, `"identity"`, "a new data dir lost no credentials")
	assert.NotContains(t, p.LogText(), "is missing from a data dir")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// A start on a full disk whose first flush fails (the sessions a kill -9
// left are marked ended) is not ready from its first answer: the flush
// came a quarter second after "cliser ready", and /readyz said 200 until
// then (signals audit).
func TestBinaryStartOnAFullDiskIsNotReadyFromItsFirstAnswer(t *testing.T) {
	dataDir := testkit.SmallDisk(t, "2m")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir, "--event-retention", "0")...)
	for i := range 50 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("left-%02d", i))
	}
	require.Eventually(t, func() bool { return metricOf(t, p.AdminURL(t), "cliser_registry_pending_writes") == 0 },
		waitFor, 20*time.Millisecond, "the records are on disk")
	p.Signal(t, syscall.SIGKILL)
	p.WaitExit(t)
	testkit.FillDisk(t, dataDir)

	again := testkit.Serve(t, env, serveArgs(dataDir, "--event-retention", "0")...)
	code, body := testkit.HTTPGet(t, again.AdminURL(t)+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.Contains(t, body, "no space left on device")
}
