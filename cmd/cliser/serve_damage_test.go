package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/internal/testkit"
)

// identity.db and events.db, damaged, stop `cliser serve` as a damaged
// registry file does: exit 1, a line that names the file and says what
// to do, no Go panic. A damaged page made bbolt panic (a Go stack, exit
// 2, which INTERFACE.md keeps for usage mistakes) and a truncated file
// killed the process with SIGBUS.
func TestBinaryRefusesDamagedIdentityOrEventFile(t *testing.T) {
	t.Parallel()
	const eventPages = 16384 / 4096 // events.db's page in OS pages (testkit's unit)
	for _, c := range []struct {
		name string
		file string
		hurt func(t *testing.T, path string)
	}{
		{"identity truncated", boltstore.FileName, halve},
		{"identity pages overwritten", boltstore.FileName, func(t *testing.T, path string) { testkit.OverwritePages(t, path, 2, -1, 11) }},
		{"identity garbage", boltstore.FileName, garbage},
		{"events truncated", events.FileName, func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, 3*16384)) }},
		{"events pages overwritten", events.FileName, func(t *testing.T, path string) {
			testkit.OverwritePages(t, path, 3*eventPages, 6*eventPages, 12)
		}},
		{"events garbage", events.FileName, garbage},
		{"events event garbled", events.FileName, garbleEvent}, // bbolt's pages whole, one event not JSON
		// JSON still, its time not (bit rot inside a value): the load
		// reads only its cid, the newest sessions' read refuses it.
		{"events event's time garbled", events.FileName, garbleEventTime},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeIdentityAndEvents(t, dir)
			path := filepath.Join(dir, c.file)
			c.hurt(t, path)
			text, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD=damage-pw"), "serve", "--listen", "127.0.0.1:0",
				"--admin-listen", "off", "--data-dir", dir)
			assert.Equal(t, 1, code, text)
			assert.Contains(t, text, path, "the message names the file")
			assert.Contains(t, text, "move it away")
			assert.Contains(t, text, "backup")
			assert.NotRegexp(t, `(?m)^panic|\[running\]|goroutine \d+|SIGBUS|fatal error`, text, "a Go crash reached stderr")
			assert.NotContains(t, text, "cliser ready")
		})
	}
}

// garbleEvent turns one stored event's opening brace into a bracket,
// in place: the file's structure holds, the event does not read.
func garbleEvent(t *testing.T, path string) {
	testkit.GarbleEvery(t, path, `{"seq":1000,`, "", '[')
}

// garbleEventTime turns a digit of one stored event's time into a
// letter, in place.
func garbleEventTime(t *testing.T, path string) {
	testkit.GarbleEvery(t, path, `{"seq":1000,`, `"time":"`, 'x')
}

func garbage(t *testing.T, path string) {
	raw := make([]byte, 20000)
	for i := range raw {
		raw[i] = byte(i*7 + 3)
	}
	require.NoError(t, os.WriteFile(path, raw, 0o600))
}

// writeIdentityAndEvents fills dir's identity.db with 500 credentials
// and its events.db with 2,000 events, each over several pages.
func writeIdentityAndEvents(t *testing.T, dir string) {
	t.Helper()
	st, err := boltstore.Open(dir)
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 500 {
		cid := fmt.Sprintf("dev-%04d", i)
		require.NoError(t, st.PutCredential(ctx, identity.Credential{CID: cid, Digest: identity.Digest([]byte(cid)), CreatedAt: time.Now()}))
	}
	require.NoError(t, st.Close())
	l, err := events.Open(filepath.Join(dir, events.FileName))
	require.NoError(t, err)
	for i := range 2000 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("dev-%04d", i), Session: "s"}))
	}
	require.NoError(t, l.Close())
}

// TestBinaryDataDirPermissionSaysWhatToGive: a data dir cliser's user may
// not use stops it with exit 1 and says who cliser runs as and what to
// give it; it said "permission denied" alone. Root ignores permissions,
// so as root the binary runs as nobody (65534) on a dir root keeps 0700.
func TestBinaryDataDirPermissionSaysWhatToGive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o700))
	cmd, uid := serveNotAsRoot(t, dir)
	if uid == os.Geteuid() {
		require.NoError(t, os.Chmod(dir, 0))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	text, code := testkit.RunCmd(t, cmd)
	assert.Equal(t, 1, code, text)
	assert.Contains(t, text, "permission denied")
	assert.Contains(t, text, fmt.Sprintf("cliser runs as uid %d", uid), "who needs the access")
	assert.Contains(t, text, fmt.Sprintf("chown -R %d %s", uid, dir), "what to give it")
	assert.NotContains(t, text, "cliser ready")
}

// A data dir whose files cliser's user owns but in which it may not make
// a file (mode 0500) opened every file and reported ready; then every
// event's seq floor write failed, and a stop lost the events queued
// (upgrade audit). The start now makes a file there first.
func TestBinaryDataDirWithoutWriteSaysWhatToGive(t *testing.T) {
	base, err := os.MkdirTemp("", "cliser-nowrite-") // nobody must reach the data dir
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	dir := filepath.Join(base, "data")
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=perm-pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	require.Equal(t, 0, p.Stop(t), p.LogText())
	cmd, uid := serveNotAsRoot(t, dir)
	require.NoError(t, filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, uid)
	}))
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })

	text, code := testkit.RunCmd(t, cmd)
	assert.Equal(t, 1, code, text)
	assert.Contains(t, text, "permission denied")
	assert.Contains(t, text, ".cliser-write-check-", "the file it could not make")
	assert.Contains(t, text, fmt.Sprintf("chown -R %d %s", uid, dir), "what to give it")
	assert.NotContains(t, text, "cliser ready")
}

// serveNotAsRoot is a `cliser serve` on dir as the test's user, or, as
// root (which ignores permissions), as nobody (65534) from a copy of the
// binary nobody can reach; and that uid.
func serveNotAsRoot(t *testing.T, dir string) (*exec.Cmd, int) {
	t.Helper()
	bin := testkit.Binary(t)
	uid := os.Geteuid()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	cmd.Env = testkit.Environ(nil, "CLISER_PASSWORD=perm-pw")
	if uid != 0 {
		return cmd, uid
	}
	pub, err := os.MkdirTemp("", "cliser-nobody-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(pub) })
	require.NoError(t, os.Chmod(pub, 0o755))
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(pub, "cliser"), b, 0o755))
	cmd.Path, cmd.Args[0] = filepath.Join(pub, "cliser"), filepath.Join(pub, "cliser")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd, 65534
}

// Damage in the newest events refuses the start as any damaged file does:
// one message, the exit line, naming the file and the remedy (an event
// that is not JSON is refused at open; one whose time is garbled, by the
// read of the newest sessions). Before, that read also logged it at ERROR
// ("event log: an event could not be read back", the same file and
// remedy), so the refusal was said twice (logs audit).
func TestBinaryDamagedNewestEventsSaidOnce(t *testing.T) {
	for name, garble := range map[string]func(*testing.T, string){"not JSON": garbleEvent, "time garbled": garbleEventTime} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeIdentityAndEvents(t, dir)
			path := filepath.Join(dir, events.FileName)
			garble(t, path)
			text, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD=damage-pw"), "serve", "--listen", "127.0.0.1:0",
				"--admin-listen", "off", "--data-dir", dir)
			assert.Equal(t, 1, code, text)
			assert.Equal(t, 1, strings.Count(text, "move it away"), "the remedy is said once:\n%s", text)
			assert.NotContains(t, text, "could not be read back", "no log line besides the exit line")
			assert.Regexp(t, `(?m)^cliser: .*cliser will not start on it.*`+regexp.QuoteMeta(path), text, "the exit line names the file")
		})
	}
}
