package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// bomFile writes a secret file as a Windows editor saves one: a UTF-8
// byte-order mark first, CRLF line ends.
func bomFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	f := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(f, []byte("\xEF\xBB\xBF"+content+"\r\n"), 0o600))
	return f
}

// A secret file saved with a byte-order mark holds the same secret as one
// without: the server's password, admin token and webhook secret files,
// the agent's password file and the CLI's token file. The mark was the
// first three bytes of the first secret: clients and the agent were
// refused the password, the API the token, and a webhook secret file was
// refused at start as not whsec_, with nothing to tell of the mark.
func TestBinarySecretFilesSavedWithAByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	const token = "bom-admin-token"
	rc := newHookReceiver(t, 0)
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=", "CLISER_ADMIN_TOKEN=", "CLISER_WEBHOOK_SECRET="},
		serveArgs(t.TempDir(),
			"--password-file", bomFile(t, dir, "password", opsPassword),
			"--admin-token-file", bomFile(t, dir, "token", token),
			"--webhook-url", rc.srv.URL, "--webhook-secret-file", bomFile(t, dir, "whsec", whSecret),
			"--webhook-linger", "1ms")...)
	admin := p.AdminURL(t)

	opsConnect(t, p.Addr, opsPassword, "bom-client-1") // fails the test on a refusal

	code, body := testkit.HTTPDo(t, http.MethodGet, admin+"/v1/clients", "",
		http.Header{"Authorization": {"Bearer " + token}})
	assert.Equal(t, http.StatusOK, code, body)
	_, _, err := runCLI(t, "clients", "list", "--admin", admin, "--admin-token-file", bomFile(t, dir, "cli-token", token))
	assert.NoError(t, err, "the CLI's --admin-token-file")

	agent := startAgent(t, nil, "--server", p.Addr, "--id", "bom-agent-1",
		"--password-file", bomFile(t, dir, "agent-password", opsPassword), "--backoff-min", "10ms", "--backoff-max", "1h")
	testkit.WaitLog(t, waitFor, agent.LogText, `"msg":"registered"`)

	// The receiver checks each signature with the secret, as it is without the mark.
	require.Eventually(t, func() bool {
		_, _, evs := rc.snapshot()
		n := 0
		for _, e := range evs {
			if e.Type == events.TypeConnected {
				n++
			}
		}
		return n == 2
	}, waitFor, tick, "%s", p.LogText())
	_, bad, _ := rc.snapshot()
	assert.Zero(t, bad, "requests signed with another secret")
	assert.Equal(t, 0, agent.Stop(t, nil), agent.LogText())
}
