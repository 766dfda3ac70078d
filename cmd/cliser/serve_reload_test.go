package main

import (
	"strings"
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
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=", "CLISER_ADMIN_TOKEN="},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--password-file", pwFile)
	base := p.AdminURL(t)
	reloads := func(result string) func() bool {
		return func() bool {
			v, _ := testkit.Metric(base, `cliser_password_reloads_total{result="`+result+`"}`)
			return v == 1
		}
	}

	writeFile(t, dir, "passwords", "counted-hup-pw\nbad\x00line\n")
	p.Reload(t)
	require.Eventually(t, reloads("failed"), waitFor, tick, "the failed reload is counted:\n%s", p.LogText())
	okBefore, found := testkit.Metric(base, `cliser_password_reloads_total{result="ok"}`)
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
