package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/ui"
)

// A path the dashboard has no file at answers as the admin API's errors
// do, a JSON 404 that says where the page is, with the security headers;
// the files and the file server's own answers are unchanged.
func TestMissingFileIsAJSONError(t *testing.T) {
	srv := httptest.NewServer(ui.Handler())
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		res, err := noRedirect.Get(srv.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(body)
	}
	for _, path := range []string{"/ui/nope.js", "/ui/nope/", "/ui/deep/er/nope.css"} {
		res, body := get(path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"), path)
		var e map[string]string
		require.NoError(t, json.Unmarshal([]byte(body), &e), "%s: %s", path, body)
		assert.Equal(t, "no file "+path+" in the dashboard: its page is /ui/", e["error"])
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
	}
	// No such path either, sent encoded: the file server's plain text
	// answered it (found by the interface audit).
	for _, path := range []string{"/ui/..%2Fv1/clients", "/ui/%2E%2E%2Fv1%2Fclients", "/ui/x/..%2F..%2Fhealthz"} {
		res, body := get(path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"), "%s: %s", path, body)
		assert.Contains(t, body, "in the dashboard: its page is /ui/", path)
	}
	res, body := get("/ui/")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "<html")
	res, _ = get("/ui/index.html")
	assert.Equal(t, http.StatusMovedPermanently, res.StatusCode, "the file server's redirect to /ui/")
	res, _ = get("/favicon.ico")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}
