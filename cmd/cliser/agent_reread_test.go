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
	"github.com/cliser/cliser/registry"
)

// A device whose secret was rotated gets its new one in its password
// file; the agent answers with it from its next attempt, without a
// restart. Here the agent waits out a refusal (half an hour and more
// with --backoff-max 1h) until SIGHUP makes it try at once; SIGHUP does
// not end it, leaves a session that is up alone, and a file that goes
// missing keeps the password read before. Before, the agent read the
// file once, so a rotated secret needed a restart, and SIGHUP ended it
// (exit 129).
func TestAgentBinaryReadsItsPasswordFileAgainAndTriesOnSIGHUP(t *testing.T) {
	srv, reg := agentServer(t)
	pwFile := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pwFile, []byte("the-old-secret\n"), 0o600))
	p := startAgent(t, nil, "--server", srv.Addr(), "--id", "rotated-1", "--password-file", pwFile,
		"--backoff-min", "10ms", "--backoff-max", "1h")
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "the server refused the password") },
		waitFor, tick, "%s", p.LogText())
	assert.Contains(t, p.LogText(), "--password-file "+pwFile+" (read again before each try)")

	require.NoError(t, os.WriteFile(pwFile, []byte(agentTestPassword+"\n"), 0o600))
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, connectedRecord(reg, "rotated-1"), waitFor, tick, "SIGHUP did not end the wait:\n%s", p.LogText())
	first, _ := reg.Get("rotated-1")
	// The registry knows before the agent does, and before its lines are
	// read: poll them, up to its own "registered" (then it is up).
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"SIGHUP: trying again now"`,
		`"msg":"the password changed; this attempt answers with the new one"`, `"msg":"registered"`)

	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "SIGHUP: the session is up and stays") },
		waitFor, tick, "%s", p.LogText())
	p.RequireRunning(t, "SIGHUP ended the agent")
	rec, _ := reg.Get("rotated-1")
	assert.True(t, rec.CStatus)
	assert.Equal(t, first.SID, rec.SID, "the session was left alone")

	require.NoError(t, os.Remove(pwFile))
	kickAndAwaitReturn(t, reg, "rotated-1", p, "the agent did not come back with the password it had")
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"the password cannot be read again; the attempts use the one read before"`,
		"no such file or directory")
	logs := p.LogText()
	assert.NotContains(t, logs, agentTestPassword, "the password reached the logs")
	assert.NotContains(t, logs, "the-old-secret", "the password reached the logs")
	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
}

// With the password in CLISER_PASSWORD, SIGHUP says that a running agent
// cannot see it change, and a waiting agent still tries at once, saying
// so too (before, a refused agent's SIGHUP said only "trying again now",
// and tried the same wrong password).
func TestAgentBinarySIGHUPWithThePasswordInTheEnvironment(t *testing.T) {
	srv, reg := agentServer(t)
	refused := startAgent(t, []string{"CLISER_PASSWORD=not-the-password"}, "--server", srv.Addr(), "--id", "env-hup-0",
		"--backoff-min", "10ms", "--backoff-max", "1h")
	testkit.WaitLog(t, waitFor, refused.LogText, "the server refused the password")
	require.NoError(t, refused.Cmd.Process.Signal(syscall.SIGHUP))
	testkit.WaitLog(t, waitFor, refused.LogText,
		`"msg":"SIGHUP: trying again now, with the same password (CLISER_PASSWORD is not read again; restart the agent to change it)"`)
	assert.Equal(t, 0, refused.Stop(t, nil), refused.LogText())

	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword}, "--server", srv.Addr(), "--id", "env-hup-1")
	require.Eventually(t, connectedRecord(reg, "env-hup-1"), waitFor, tick, p.LogText())
	// The registry knows before the agent does: SIGHUP once it says so.
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"registered"`)
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return strings.Contains(p.LogText(), "CLISER_PASSWORD is not read again; restart the agent to change it")
	}, waitFor, tick, "%s", p.LogText())
	p.RequireRunning(t, "SIGHUP ended the agent")
	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
}

// A terminator's certificate renewed under a new CA: the agent refuses
// it while its --tls-ca trusts only the old CA, and takes the new bundle
// written into that file from its next attempt (SIGHUP: at once), without
// a restart. A bundle that no longer reads keeps the one read before.
// Before, the agent read --tls-ca once, so every agent of a fleet needed
// a restart to trust a renewed CA.
func TestAgentBinaryReadsItsCABundleAgain(t *testing.T) {
	srv, reg := agentServer(t)
	oldCA, newCA := testkit.NewCA(t), testkit.NewCA(t)
	caFile := oldCA.WriteFile(t, t.TempDir())
	front := startTLSTerminator(t, newCA.Issue(t, "cliser.test").TLS, srv.Addr())
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword}, "--server", front.addr(), "--id", "renewed-ca-1",
		"--tls-ca", caFile, "--tls-server-name", "cliser.test", "--backoff-min", "10ms", "--backoff-max", "1h")
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "x509: certificate signed by unknown authority") },
		waitFor, tick, "%s", p.LogText())
	assert.Zero(t, front.proxiedCount(), "an unverified session went through")

	require.NoError(t, os.WriteFile(caFile, newCA.PEM, 0o600))
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, connectedRecord(reg, "renewed-ca-1"), waitFor, tick, "the new CA was not taken:\n%s", p.LogText())
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"the trusted CAs changed; this attempt verifies with the new ones"`)

	require.NoError(t, os.WriteFile(caFile, caFileMistakes.garbage, 0o600))
	kickAndAwaitReturn(t, reg, "renewed-ca-1", p, "the agent did not come back with the CA it had")
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"the TLS settings cannot be read again; the attempts use the ones read before"`,
		"has no PEM certificate in it", `"msg":"registered"`)
	logs := p.LogText()
	assert.Equal(t, 1, strings.Count(logs, "the trusted CAs changed"), "only the renewal changed them")

	require.NoError(t, os.WriteFile(caFile, newCA.PEM, 0o600))
	conn, err := reg.Conn("renewed-ca-1")
	require.NoError(t, err)
	require.NoError(t, conn.Close(protocol.ReasonKicked))
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), `"msg":"the TLS settings read again"`) },
		waitFor, tick, "%s", p.LogText())
	assert.NotContains(t, p.LogText(), agentTestPassword)
	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
}

// kickAndAwaitReturn kicks the agent's session of cid and waits for it to
// register again, in a session of its own.
func kickAndAwaitReturn(t *testing.T, reg *registry.Registry, cid string, p *testkit.Process, failMsg string) {
	t.Helper()
	before, _ := reg.Get(cid)
	conn, err := reg.Conn(cid)
	require.NoError(t, err)
	require.NoError(t, conn.Close(protocol.ReasonKicked))
	require.Eventually(t, func() bool {
		r, _ := reg.Get(cid)
		return r.CStatus && r.SID != before.SID
	}, waitFor, tick, "%s:\n%s", failMsg, p.LogText())
}

// An agent whose password file is a named pipe (sops exec-file's, a
// shell's <(...)) reads it at start and answers with that password from
// then on: opening the pipe again before the next attempt waited for a
// writer without end, so a dropped session never came back, and SIGTERM
// no longer stopped the agent.
func TestAgentBinaryDoesNotWaitOnANamedPipe(t *testing.T) {
	srv, reg := agentServer(t)
	pwFile := filepath.Join(t.TempDir(), "password")
	require.NoError(t, syscall.Mkfifo(pwFile, 0o600))
	writePipeOnce(t, pwFile, agentTestPassword+"\n")
	p := startAgent(t, nil, "--server", srv.Addr(), "--id", "piped-1", "--password-file", pwFile,
		"--backoff-min", "10ms", "--backoff-max", "100ms")
	require.Eventually(t, connectedRecord(reg, "piped-1"), waitFor, tick, "%s", p.LogText())

	kickAndAwaitReturn(t, reg, "piped-1", p, "the agent waited on the pipe")
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"the password cannot be read again; the attempts use the one read before"`,
		"is a named pipe")
	assert.NotContains(t, p.LogText(), agentTestPassword, "the password reached the logs")
	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
}
