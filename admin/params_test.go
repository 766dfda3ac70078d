package admin

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// endpointPath is a path of pattern's route, its wildcards filled in.
func endpointPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, strings.NewReplacer("{cid}", "c1", "{kind}", "ip", "{value}", "203.0.113.9",
		"{addr}", "10.1.0.0", "{bits}", "16").Replace(path)
}

// request is a request to the loopback, which the guard's Host rule lets by.
func request(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = "127.0.0.1:8081"
	return r
}

// A value each parameter takes, so a route that reads it gets past the guard.
var paramValue = map[string]string{"status": "all", "limit": "5", "cursor": "", "prefix": "a", "after": "0",
	"type": "client.connected", "cid": "c1", "wait": "1ms", "kind": "ip"}

// Each route takes the query parameters it reads and refuses the others
// with a 400 that names the ones it reads: one list for the whole API let
// /v1/events?cursor=abc, /v1/health?status=bogus and
// /v1/clients/p0?limit=abc through, answered as if not asked (audit).
func TestQueryParamsPerEndpoint(t *testing.T) {
	t.Parallel()
	names := []string{"token", "staus", "Status"}
	for _, ps := range endpointParams {
		names = append(names, ps...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	reached := false
	h := refuseBadQuery(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	for _, pattern := range slices.Sorted(maps.Keys(endpointParams)) {
		method, path := endpointPath(pattern)
		methods := []string{method}
		if method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		reads := endpointParams[pattern]
		for _, m := range methods {
			got, _, ok := paramsOf(request(m, path))
			require.True(t, ok, "%s %s", m, path)
			require.Equal(t, pattern, got, "%s %s names its own route", m, path)
			for _, name := range names {
				target := path + "?" + name + "=" + paramValue[name]
				reached = false
				w := httptest.NewRecorder()
				h.ServeHTTP(w, request(m, target))
				if slices.Contains(reads, name) {
					assert.True(t, reached, "%s %s: %s", m, target, w.Body)
					continue
				}
				assert.False(t, reached, "%s %s", m, target)
				if assert.Equal(t, http.StatusBadRequest, w.Code, "%s %s", m, target) {
					want := "no parameters"
					if len(reads) > 0 {
						want = strings.Join(reads, ", ")
					}
					assert.Contains(t, w.Body.String(), `unknown parameter \"`+name+`\" (`+pattern+` reads `+want+`)`, "%s %s", m, target)
				}
			}
		}
	}
	// A path that names no route, or not with this method, is left to its
	// 404 or 405.
	for _, rq := range [][2]string{{"GET", "/v1/nope?x=1"}, {"GET", "/v1/shutdown?x=1"}, {"PUT", "/v1/clients?x=1"}} {
		reached = false
		h.ServeHTTP(httptest.NewRecorder(), request(rq[0], rq[1]))
		assert.True(t, reached, "%v", rq)
	}
}

// Every pattern in endpointParams is a route the API serves, with that
// method: a stale entry would check a route nobody reads. (A route under
// /v1/ missing from endpointParams panics in Handler: handle.)
func TestEndpointParamsAreRoutes(t *testing.T) {
	t.Parallel()
	for pattern := range takesNoBody {
		assert.Contains(t, endpointParams, pattern, "takesNoBody names a route")
	}
	a := New(registry.New())
	t.Cleanup(func() { a.stopStreams(); a.endWaits() })
	h := a.Handler()
	for pattern := range endpointParams {
		method, path := endpointPath(pattern)
		// An unknown parameter is refused before the route: the answer
		// tells only whether there is one. So the route answers a
		// request with a method it does not take, as 405, or with the
		// method, as anything but 404's "no endpoint".
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(http.MethodPatch, path))
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code, "%s: %s", pattern, w.Body)
		assert.Contains(t, w.Header().Get("Allow"), method, pattern)
	}
}
