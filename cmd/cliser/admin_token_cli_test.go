package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// writeTokenFile writes body to a file of its own and returns its path.
func writeTokenFile(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "admin-token")
	require.NoError(t, os.WriteFile(f, []byte(body), 0o600))
	return f
}

// The admin commands take their token from a file, the server's kind:
// --admin-token-file first, then CLISER_ADMIN_TOKEN, then the file
// CLISER_ADMIN_TOKEN_FILE names; the file's first token is sent.
func TestCLIAdminTokenFile(t *testing.T) {
	cliEnv(t)
	const token = "file-admin-token"
	s := startOpsServer(t, token)
	right := writeTokenFile(t, "\n  "+token+"  \nnewer-token-not-yet-known\n")
	wrong := writeTokenFile(t, "not-the-token\n"+token+"\n")

	list := func(args ...string) error {
		_, _, err := runCLI(t, append([]string{"clients", "list", "--admin", s.admin}, args...)...)
		return err
	}
	require.NoError(t, list("--admin-token-file", right), "the first token, trimmed")
	err := list("--admin-token-file", wrong)
	require.Error(t, err, "only the first line is sent")
	assert.Contains(t, err.Error(), "refused the token of --admin-token-file "+wrong)
	assert.NotContains(t, err.Error(), "not-the-token", "a token never shows in an error")
	assert.Equal(t, 1, exitCode(err))

	t.Setenv("CLISER_ADMIN_TOKEN_FILE", right)
	require.NoError(t, list(), "CLISER_ADMIN_TOKEN_FILE, with nothing else set")
	_, _, err = runCLI(t, "status", "--admin", s.admin)
	require.NoError(t, err, "status takes it too")
	t.Setenv("CLISER_ADMIN_TOKEN", "env-wrong")
	err = list()
	require.Error(t, err, "CLISER_ADMIN_TOKEN goes before CLISER_ADMIN_TOKEN_FILE")
	assert.Contains(t, err.Error(), "refused the token of CLISER_ADMIN_TOKEN:")
	require.NoError(t, list("--admin-token-file", right), "the flag goes before both")

	t.Setenv("CLISER_ADMIN_TOKEN", "")
	t.Setenv("CLISER_ADMIN_TOKEN_FILE", filepath.Join(t.TempDir(), "absent"))
	err = list()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CLISER_ADMIN_TOKEN_FILE: open ")
	assert.Equal(t, 2, exitCode(err), "a setting to fix, not a failed request")
	for body, want := range map[string]string{
		"\n \n":           "holds no token: put one a line in it",
		"two words\nok\n": "line 1 holds a space or a control character",
	} {
		f := writeTokenFile(t, body)
		err = list("--admin-token-file", f)
		require.Error(t, err, "%q", body)
		assert.Contains(t, err.Error(), "--admin-token-file "+f+" ")
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "two words")
		assert.Equal(t, 2, exitCode(err))
	}
}

// In the server's container one environment serves both: `cliser serve`
// reads CLISER_ADMIN_TOKEN_FILE as its --admin-token-file, and `cliser
// clients` finds the API and its token through the same variables.
func TestBinaryCLIFindsTheTokenInTheServersEnvironment(t *testing.T) {
	file := writeTokenFile(t, "container-token\n")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "CLISER_ADMIN_TOKEN_FILE=" + file}
	p := testkit.Serve(t, env, serveArgs(t.TempDir())...)
	opsConnect(t, p.Addr, opsPassword, "in-container-1")

	cli := append(env[1:], "CLISER_ADMIN="+p.AdminAddr)
	out, code := runBinary(t, cli, "clients", "list", "-o", "json")
	require.Equal(t, 0, code, out)
	list := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, list.Clients, 1)
	assert.Equal(t, "in-container-1", list.Clients[0].CID)

	out, code = runBinary(t, []string{"CLISER_ADMIN=" + p.AdminAddr}, "clients", "list")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "set CLISER_ADMIN_TOKEN to the server's token, or give --admin-token-file")
}
