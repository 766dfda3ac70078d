package admin_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// documentedParams are the query parameters each route reads, as the docs
// name them (docs/operations.md's table, docs/events.md, EVENTS.md), typed
// out here rather than read from the API's own list: TestQueryParamsPerEndpoint
// checks the guard against that list, so a name added to or dropped from
// it passed every test (mutation audit: ?cursor= on a client's history
// answered as if not asked).
var documentedParams = map[string][]string{
	"GET /v1/clients":                 {"status", "prefix", "limit", "cursor"},
	"GET /v1/clients/pos-1":           nil,
	"GET /v1/clients/pos-1/history":   {"limit"},
	"POST /v1/clients/pos-1/shutdown": nil,
	"POST /v1/clients/pos-1/kick":     nil,
	"POST /v1/shutdown":               nil,
	"GET /v1/events":                  {"after", "limit", "type", "cid", "wait"},
	"GET /v1/events/stream":           {"after", "type", "cid"},
	"GET /v1/stats":                   nil,
	"GET /v1/health":                  nil,
	"GET /v1/credentials":             {"limit", "cursor", "prefix"},
	"GET /v1/credentials/pos-1":       nil,
	"POST /v1/credentials/pos-1":      nil,
	"DELETE /v1/credentials/pos-1":    nil,
	"GET /v1/bans":                    {"kind", "limit", "cursor"},
	"POST /v1/bans":                   nil,
	"DELETE /v1/bans/cid/pos-1":       nil,
	"DELETE /v1/bans/net/10.0.0.0/8":  nil,
}

// docParamValue is a valid value of each documented parameter.
var docParamValue = map[string]string{"status": "all", "prefix": "pos", "limit": "5", "cursor": "",
	"after": "0", "type": "client.connected", "cid": "pos-1", "wait": "1ms", "kind": "cid"}

// Each route reads the parameters its docs name, and refuses every other
// one that some route reads with a 400 naming the parameter, over HTTP.
func TestEachRouteReadsTheQueryParametersItsDocsName(t *testing.T) {
	t.Parallel()
	ids := identity.New()
	require.NoError(t, ids.Start(context.Background()))
	t.Cleanup(func() { _ = ids.Close() })
	hs, err := admin.New(registry.New(), admin.WithIdentity(ids)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) })
	base := "http://" + hs.Addr()

	names := slices.Sorted(maps.Keys(docParamValue))
	for _, route := range slices.Sorted(maps.Keys(documentedParams)) {
		method, path, _ := strings.Cut(route, " ")
		reads := documentedParams[route]
		for _, name := range names {
			target := base + path + "?" + name + "=" + docParamValue[name]
			code, body := testkit.HTTPDo(t, method, target, "", nil)
			unknown := strings.Contains(body, `unknown parameter \"`+name+`\"`)
			if slices.Contains(reads, name) {
				assert.False(t, unknown, "%s ?%s= is documented: %d %s", route, name, code, body)
				continue
			}
			assert.Equal(t, http.StatusBadRequest, code, "%s ?%s= is not read: %s", route, name, body)
			assert.True(t, unknown, "%s ?%s= is not read: %s", route, name, body)
		}
	}
}
