package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// `cliser credentials add/rm CID...` went on to the next client ID after
// a 401, once for each: every wrong token takes one of the 10 an address
// may spend a minute (security.md), so 15 IDs with an old token locked
// the operator's address out of the API, the right token included (429),
// for a minute. Now a failure that every later ID would meet too (the
// token refused or throttled, the API unreachable) stops the loop and
// names the IDs not tried.
func TestCLIManyIDsStopAtTheFirstRefusedToken(t *testing.T) {
	cliEnv(t)
	const token = "the-right-token"
	s := startOpsServer(t, token)
	ids := make([]string, 15)
	for i := range ids {
		ids[i] = "many-" + string(rune('a'+i))
	}
	t.Setenv("CLISER_ADMIN_TOKEN", "an-old-token")
	for _, sub := range []string{"add", "rm"} {
		_, _, err := runCLI(t, append([]string{"credentials", sub, "--admin", s.admin}, ids...)...)
		require.Error(t, err, sub)
		assert.Equal(t, 1, exitCode(err), sub)
		msg := err.Error()
		assert.Contains(t, msg, "refused the token of CLISER_ADMIN_TOKEN", sub)
		assert.Equal(t, 1, strings.Count(msg, "refused the token"), "one refusal, not one per ID: %s", msg)
		assert.Contains(t, msg, "not tried: many-b", sub)
	}
	t.Setenv("CLISER_ADMIN_TOKEN", token)
	_, _, err := runCLI(t, "clients", "list", "--admin", s.admin)
	require.NoError(t, err, "the right token is not locked out by the wrong one's tries")
	out, _, err := runCLI(t, append([]string{"credentials", "add", "--admin", s.admin, "-o", "json"}, ids...)...)
	require.NoError(t, err)
	assert.Len(t, decodeJSON[[]admin.Credential](t, out), len(ids))

	// A failure of one ID alone (404) still goes on to the others.
	_, _, err = runCLI(t, "credentials", "rm", "--admin", s.admin, "never-enrolled", ids[0])
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "not tried")
	_, err = s.API().GetCredential(ids[0])
	assert.Error(t, err, "the second ID was deleted after the first's 404")
}

// TestCLIWarnsOfATokenSentInClear: the admin API speaks plain HTTP, so a
// token sent by http:// to another host is readable on the path; the CLI
// said nothing (security audit). It warns, naming the setting and never
// the token, and is quiet on the loopback, over https, or with no token.
func TestCLIWarnsOfATokenSentInClear(t *testing.T) {
	cliEnv(t)
	const token = "clear-admin-token"
	const warning = "over plain HTTP, readable by anyone on the path"
	s := startOpsServer(t, token)
	t.Setenv("CLISER_ADMIN_TOKEN", token)
	port := s.admin[strings.LastIndex(s.admin, ":"):]
	for _, local := range []string{s.admin, "http://localhost" + port} {
		_, stderr, err := runCLI(t, "clients", "list", "--admin", local)
		require.NoError(t, err, local)
		assert.NotContains(t, stderr, warning, local)
	}
	// TEST-NET-1: the warning comes before the request, which fails.
	remote := "http://192.0.2.1:7071"
	_, stderr, err := runCLI(t, "status", "--admin", remote, "--timeout", "300ms")
	require.Error(t, err)
	assert.Contains(t, stderr, "the token of CLISER_ADMIN_TOKEN goes to "+remote+" "+warning)
	assert.NotContains(t, stderr, token)
	_, stderr, _ = runCLI(t, "clients", "list", "--admin", "https://192.0.2.1:7071", "--timeout", "300ms")
	assert.NotContains(t, stderr, warning, "https")
	t.Setenv("CLISER_ADMIN_TOKEN", "")
	_, stderr, _ = runCLI(t, "clients", "list", "--admin", remote, "--timeout", "300ms")
	assert.NotContains(t, stderr, warning, "no token, nothing to leak")
}

// A token file the host's other users may read is warned of on stderr, as
// the server logs of its own, and the command still runs: a container's
// secret mount is often 0644. Before, the CLI read it without a word.
func TestCLIWarnsOfATokenFileOthersMayRead(t *testing.T) {
	cliEnv(t)
	const token = "open-admin-token"
	const warning = "may be read by other users of this host: chmod 600 it"
	s := startOpsServer(t, token)
	f := writeTokenFile(t, token+"\n")
	list := func(args ...string) string {
		_, stderr, err := runCLI(t, append([]string{"clients", "list", "--admin", s.admin}, args...)...)
		require.NoError(t, err)
		return stderr
	}
	assert.NotContains(t, list("--admin-token-file", f), warning, "0600")

	for _, mode := range []os.FileMode{0o640, 0o604} {
		require.NoError(t, os.Chmod(f, mode))
		stderr := list("--admin-token-file", f)
		assert.Contains(t, stderr, "cliser: warning: --admin-token-file "+f+" (mode "+"0"+strconv.FormatUint(uint64(mode), 8)+") "+warning)
		assert.NotContains(t, stderr, token)
	}
	t.Setenv("CLISER_ADMIN_TOKEN_FILE", f)
	assert.Contains(t, list(), "cliser: warning: CLISER_ADMIN_TOKEN_FILE "+f+" (mode 0604) "+warning)
	t.Setenv("CLISER_ADMIN_TOKEN", token)
	assert.NotContains(t, list(), warning, "the environment's token went first: the file was not read")
}

// A throttled address (429, after 10 wrong tokens a minute) stops a
// many-ID command as a refused token does: each further ID would meet
// the 429 too. With -o json a script still gets a JSON list, empty, when
// no credential was made. Both passed every test mutated away (mutation
// audit: stopsTheRest without 429; writeSecrets printing nothing).
func TestCLIManyIDsStopWhenThrottled(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "the-right-token")
	t.Setenv("CLISER_ADMIN_TOKEN", "an-old-token")
	throttled := false
	for i := 0; i < 40 && !throttled; i++ { // 10 wrong tokens a minute is the limit; a bound, not a wait
		_, _, err := runCLI(t, "clients", "list", "--admin", s.admin)
		require.Error(t, err)
		throttled = !strings.Contains(err.Error(), "refused the token")
	}
	require.True(t, throttled, "the address was never throttled")
	out, _, err := runCLI(t, "credentials", "add", "--admin", s.admin, "-o", "json", "thr-a", "thr-b", "thr-c")
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, err.Error(), "not tried: thr-b thr-c")
	assert.Equal(t, 1, strings.Count(err.Error(), "thr-a:"), err.Error())
	assert.Equal(t, "[]\n", out, "a JSON list for scripts, empty")
}
