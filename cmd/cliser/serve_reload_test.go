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
	"github.com/cliser/cliser/protocol"
)

// SIGHUP re-reads the password file and never stops the server: clients
// registered before it keep echoing keep-alives, a password added to the
// file works, one removed from it fails, and the log says how many
// passwords it loaded without naming one.
func TestBinarySIGHUPReloadsPasswordsAndKeepsClients(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "passwords", "old-hup-pw\nkept-hup-pw\n")
	p := testkit.Serve(t, []string{"CLISER_PASSWORD="},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(),
		"--password-file", pwFile, "--keepalive-interval", "100ms", "--keepalive-timeout", "5s")

	var clients []*testkit.RawClient
	for i, pw := range []string{"old-hup-pw", "kept-hup-pw", "old-hup-pw"} {
		c := testkit.Dial(t, p.Addr)
		c.Handshake(pw, "hup-client-"+string(rune('a'+i)))
		clients = append(clients, c)
	}

	writeFile(t, dir, "passwords", "kept-hup-pw\nnew-hup-pw\n")
	p.Reload(t)
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "passwords reloaded") },
		waitFor, tick, "no reload line:\n%s", p.LogText())
	assert.Contains(t, p.LogText(), pwFile, "the reload names its file")

	select {
	case <-p.Exited:
		t.Fatalf("SIGHUP stopped the server: %v\n%s", p.ExitErr, p.LogText())
	default:
	}
	for _, c := range clients { // every one still served, none told 190
		c.EchoKeepAlive()
		c.EchoKeepAlive()
	}
	fresh := testkit.Dial(t, p.Addr)
	fresh.Handshake("new-hup-pw", "hup-new")
	removed := testkit.Dial(t, p.Addr)
	removed.Expect("110 password")
	removed.Send("110 old-hup-pw\n")
	removed.ExpectClosed("190 " + protocol.ReasonAuthFailed.String())

	// A file that no longer parses keeps the passwords in force.
	writeFile(t, dir, "passwords", "ok\nbad\x00pw\n")
	p.Reload(t)
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "password reload failed") },
		waitFor, tick, "no failure line:\n%s", p.LogText())
	again := testkit.Dial(t, p.Addr)
	again.Handshake("new-hup-pw", "hup-again")

	assert.Equal(t, 0, p.Stop(t), p.LogText())
	logs := p.LogText()
	assert.Contains(t, logs, `"passwords":2`)
	for _, pw := range []string{"old-hup-pw", "kept-hup-pw", "new-hup-pw", "bad\\u0000pw"} {
		assert.NotContains(t, logs, pw, "a password reached the logs")
	}
}

// A SIGHUP whose password file does not parse keeps the passwords in
// force and logs a warning; it is counted too, so that an alert sees it
// (`systemctl reload` succeeds whatever the file says). It was only
// logged.
func TestBinarySIGHUPFailureIsCounted(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "passwords", "counted-hup-pw\n")
	p, reloads := serveReloading(t, pwFile)

	writeFile(t, dir, "passwords", "counted-hup-pw\nbad\x00line\n")
	p.Reload(t)
	require.Eventually(t, reloads("failed"), waitFor, tick, "the failed reload is counted:\n%s", p.LogText())
	okBefore, found := testkit.Metric(p.AdminURL(t), `cliser_password_reloads_total{result="ok"}`)
	require.True(t, found, "both results are on /metrics from the start")
	require.Zero(t, okBefore)
	testkit.Dial(t, p.Addr).Handshake("counted-hup-pw", "hup-kept") // the old password stays in force

	writeFile(t, dir, "passwords", "counted-hup-pw2\n")
	p.Reload(t)
	require.Eventually(t, reloads("ok"), waitFor, tick, "the good reload is counted:\n%s", p.LogText())
}

// With --require-credentials the server may run with no shared password,
// and so may a reload: emptying the password file once every device has
// its own secret (the last step of identity.md's migration) is a good
// reload, not a failed one that keeps the retired password in force and
// sets off the alert on failed reloads.
func TestBinarySIGHUPMayLeaveNoPasswordUnderRequireCredentials(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "passwords", "retired-shared-pw\n")
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=", "CLISER_ADMIN_TOKEN="},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--password-file", pwFile, "--require-credentials")
	base := p.AdminURL(t)

	writeFile(t, dir, "passwords", "")
	p.Reload(t)
	require.Eventually(t, func() bool {
		v, _ := testkit.Metric(base, `cliser_password_reloads_total{result="ok"}`)
		return v == 1
	}, waitFor, tick, "emptying the file is a good reload:\n%s", p.LogText())
	failed, found := testkit.Metric(base, `cliser_password_reloads_total{result="failed"}`)
	require.True(t, found)
	assert.Zero(t, failed, p.LogText())
	assert.Contains(t, p.LogText(), `"passwords":0`)
}

// A password file that is a named pipe (sops exec-file's, a shell's
// <(...)) is read at start; a SIGHUP does not open it again, which waited
// for a writer without end: the reload hung, nothing was logged or
// counted, and every SIGHUP after it was dropped, the one after the file
// was made a regular file included. It is now a failed reload, counted,
// and the next SIGHUP reads the regular file.
func TestBinarySIGHUPDoesNotWaitOnANamedPipe(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "passwords")
	require.NoError(t, syscall.Mkfifo(pwFile, 0o600))
	writePipeOnce(t, pwFile, "piped-hup-pw\n")
	p, reloads := serveReloading(t, pwFile)

	p.Reload(t)
	require.Eventually(t, reloads("failed"), waitFor, tick, "the reload waited on the pipe:\n%s", p.LogText())
	assert.Contains(t, p.LogText(), "is a named pipe")
	testkit.Dial(t, p.Addr).Handshake("piped-hup-pw", "pipe-kept") // the password read at start stays

	require.NoError(t, os.Remove(pwFile))
	writeFile(t, filepath.Dir(pwFile), "passwords", "regular-hup-pw\n")
	p.Reload(t)
	require.Eventually(t, reloads("ok"), waitFor, tick, "the next SIGHUP was dropped:\n%s", p.LogText())
	testkit.Dial(t, p.Addr).Handshake("regular-hup-pw", "pipe-replaced")
	assert.NotContains(t, p.LogText(), "piped-hup-pw", "a password reached the logs")
}

// writePipeOnce writes body to the named pipe at path once, when a reader
// opens it, as sops exec-file does. A writer still waiting at the end is
// let go.
func writePipeOnce(t *testing.T, path, body string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = f.WriteString(body)
		_ = f.Close()
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default: // nobody read it: a reader that gives up at once frees the writer
			if f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
				_ = f.Close()
			}
			<-done
		}
	})
}

// serveReloading serves with pwFile as --password-file, and gives a
// condition: one reload of that result counted.
func serveReloading(t *testing.T, pwFile string) (*testkit.Served, func(result string) func() bool) {
	t.Helper()
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=", "CLISER_ADMIN_TOKEN="},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--password-file", pwFile)
	base := p.AdminURL(t)
	return p, func(result string) func() bool {
		return func() bool {
			v, _ := testkit.Metric(base, `cliser_password_reloads_total{result="`+result+`"}`)
			return v == 1
		}
	}
}
