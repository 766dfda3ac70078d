package admin

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// A caller without the token gets 401 whatever its query: the query was
// checked first, and a wrong parameter got a 400 naming the endpoint's
// parameters to anyone (API audit). With the token, the 400 stands.
func TestTheTokenIsCheckedBeforeTheQuery(t *testing.T) {
	hs, err := New(registry.New(), WithTokens(NewTokens("query-token"))).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(t.Context())

	get := func(path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+hs.Addr()+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(body)
	}
	for _, path := range []string{"/v1/clients?foo=1", "/v1/clients?limit=", "/v1/clients?limit=1&limit=2", "/v1/clients?cursor=%%%"} {
		code, body := get(path, "")
		assert.Equal(t, http.StatusUnauthorized, code, "%s without the token: %s", path, body)
		assert.NotContains(t, body, "query", path)
		code, body = get(path, "query-token")
		assert.Equal(t, http.StatusBadRequest, code, "%s with the token: %s", path, body)
		assert.Contains(t, body, "query: ", path)
	}
	// The probes take no token, and their query is still checked.
	code, body := get("/readyz?x=1&x=2", "")
	assert.Equal(t, http.StatusBadRequest, code, body)
}
