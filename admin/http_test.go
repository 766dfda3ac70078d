package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

func TestWrongMethodIs405WithAllow(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPost, "/v1/clients", "GET, HEAD"},
		{http.MethodDelete, "/v1/clients/x", "GET, HEAD"},
		{http.MethodGet, "/v1/clients/x/shutdown", "POST"},
		{http.MethodPut, "/v1/clients/x/kick", "POST"},
		{http.MethodGet, "/v1/shutdown", "POST"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodPost, "/readyz", "GET, HEAD"},
		{http.MethodPost, "/metrics", "GET, HEAD"},
	} {
		r := s.call(t, tc.method, tc.path, "")
		assert.Equal(t, http.StatusMethodNotAllowed, r.status, "%s %s", tc.method, tc.path)
		assert.Equal(t, tc.allow, r.header.Get("Allow"), "%s %s", tc.method, tc.path)
		assert.Contains(t, r.errorText(t), "not allowed", "%s %s", tc.method, tc.path)
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for _, p := range []string{"/", "/v1", "/v2/clients", "/v1/clients/", "/v1/clients/a/b/c"} {
		r := s.call(t, http.MethodGet, p, "")
		assert.Equal(t, http.StatusNotFound, r.status, p)
		assert.Contains(t, r.errorText(t), "no endpoint", p)
	}
}

func TestTokenOn(t *testing.T) {
	t.Parallel()
	const token = "s3cret-admin-token"
	// More wrong tokens than the per-IP slowdown lets through (its own test
	// is in authlimit_test.go).
	s := newStack(t, stackConfig{token: token, apiOpts: []admin.Option{admin.WithAuthFailLimit(0, 0)}})
	s.connect(t, "tok-1")

	protected := []struct{ method, path string }{
		{http.MethodGet, "/v1/clients"},
		{http.MethodGet, "/v1/clients/tok-1"},
		{http.MethodPost, "/v1/clients/tok-1/shutdown"},
		{http.MethodPost, "/v1/clients/tok-1/kick"},
		{http.MethodPost, "/v1/shutdown"},
		{http.MethodGet, "/metrics"},
		{http.MethodGet, "/nowhere"},
	}
	for _, p := range protected {
		for _, bad := range []string{"", "wrong", token + "x", token[:len(token)-1]} {
			r := s.callToken(t, p.method, p.path, "", bad)
			assert.Equal(t, http.StatusUnauthorized, r.status, "%s %s token %q", p.method, p.path, bad)
			assert.Equal(t, `Bearer realm="cliser admin"`, r.header.Get("WWW-Authenticate"))
			assert.NotContains(t, string(r.body), `\u003c`, "no HTML escapes in messages")
			r.errorText(t)
		}
	}
	// Another scheme is not a bearer token.
	req, err := http.NewRequest(http.MethodGet, s.base+"/v1/clients", nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Nothing reached the client.
	rec, _ := s.reg.Get("tok-1")
	assert.True(t, rec.CStatus)

	// The probes stay open.
	assert.Equal(t, http.StatusOK, s.callToken(t, http.MethodGet, "/healthz", "", "").status)
	assert.Equal(t, http.StatusOK, s.callToken(t, http.MethodGet, "/readyz", "", "").status)

	// The right token works everywhere, the scheme in any case.
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/v1/clients", "").status)
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/metrics", "").status)
	req, err = http.NewRequest(http.MethodGet, s.base+"/v1/clients/tok-1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, http.StatusAccepted, s.call(t, http.MethodPost, "/v1/clients/tok-1/kick", "").status)
}

func TestTokenOff(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for _, tok := range []string{"", "anything"} {
		assert.Equal(t, http.StatusOK, s.callToken(t, http.MethodGet, "/v1/clients", "", tok).status)
		assert.Equal(t, http.StatusOK, s.callToken(t, http.MethodGet, "/metrics", "", tok).status)
	}
}
