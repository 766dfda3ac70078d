package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// An admin token rotated without a restart: the new token's line joins
// --admin-token-file, SIGHUP, the tools move to it, the old line goes,
// SIGHUP. Both work in between; after, the old one gets 401. A file left
// with no token keeps the tokens in force (the API never opens), as does
// a bad line; each is counted. CLISER_ADMIN_TOKEN is accepted beside the
// file throughout. No token reaches the log.
func TestBinarySIGHUPRotatesTheAdminToken(t *testing.T) {
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "admin-tokens", "token-old\n")
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=token-env"},
		serveArgs(t.TempDir(), "--admin-token-file", tokenFile)...)
	base := "http://" + p.AdminAddr
	status := func(token string) int {
		t.Helper()
		code, _ := testkit.HTTPDo(t, http.MethodGet, base+"/v1/clients", "", http.Header{"Authorization": {"Bearer " + token}})
		return code
	}
	reload := func(body, result string, n int) {
		t.Helper()
		writeFile(t, dir, "admin-tokens", body)
		p.Reload(t)
		want := fmt.Sprintf("cliser_admin_token_reloads_total{result=%q} %d\n", result, n)
		last := map[string]string{"ok": "1", "failed": "0"}[result]
		wantLast := "cliser_admin_token_last_reload_successful " + last + "\n"
		require.Eventually(t, func() bool {
			code, text := testkit.HTTPDo(t, http.MethodGet, base+"/metrics", "", http.Header{"Authorization": {"Bearer token-env"}})
			return code == http.StatusOK && strings.Contains(text, want) && strings.Contains(text, wantLast)
		}, waitFor, tick, "the reload is counted %s, and is the last one's result:\n%s", result, p.LogText())
	}
	code, text := testkit.HTTPDo(t, http.MethodGet, base+"/metrics", "", http.Header{"Authorization": {"Bearer token-env"}})
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, text, "cliser_admin_token_last_reload_successful 1\n", "the start's load was good")

	assert.Equal(t, http.StatusOK, status("token-old"))
	assert.Equal(t, http.StatusOK, status("token-env"))
	assert.Equal(t, http.StatusUnauthorized, status("token-new"))

	reload("token-old\ntoken-new\n", "ok", 1)
	assert.Equal(t, http.StatusOK, status("token-old"), "the tools still on the old token")
	assert.Equal(t, http.StatusOK, status("token-new"), "and those moved")

	reload("token-new\n", "ok", 2)
	assert.Equal(t, http.StatusUnauthorized, status("token-old"), "the old token is gone")
	assert.Equal(t, http.StatusOK, status("token-new"))
	assert.Equal(t, http.StatusOK, status("token-env"))

	reload("\n", "failed", 1)
	assert.Equal(t, http.StatusOK, status("token-new"), "a file with no token keeps the tokens in force")
	reload("token-new\nnot one word\n", "failed", 2)
	assert.Equal(t, http.StatusOK, status("token-new"))
	assert.Equal(t, http.StatusUnauthorized, status("not"))
	code, _ = testkit.HTTPGet(t, base+"/v1/clients")
	assert.Equal(t, http.StatusUnauthorized, code, "the API never opened")
	reload("token-new\n", "ok", 3) // a good reload after failed ones ends the alert

	logs := p.LogText()
	assert.Contains(t, logs, `"msg":"SIGHUP: admin tokens reloaded; a request with a token no longer listed gets 401"`)
	assert.Contains(t, logs, "line 2 holds a space or a control character")
	for _, tok := range []string{"token-old", "token-new", "token-env", "not one word"} {
		assert.NotContains(t, logs, tok, "a token reached the log")
	}
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}
