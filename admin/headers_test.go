package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/admin"
)

// Every answer of the admin listener carries the security headers, not
// only the dashboard's files: the API's JSON, its errors and refusals,
// the metrics. Before, a JSON answer (which echoes a path, a filter or a
// ban's reason) had no nosniff, no frame rule and, for /metrics, no
// cache rule.
func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	const token = "headers-token"
	s := newStack(t, stackConfig{token: token, apiOpts: []admin.Option{admin.WithAuthFailLimit(0, 0)}})
	s.connect(t, "hdr-1")
	for _, rq := range []request{
		{path: "/v1/clients", token: token},
		{path: "/v1/clients/hdr-1", token: token},
		{path: "/v1/clients/<img src=x onerror=alert(1)>", token: token}, // 404, the path echoed
		{path: "/metrics", token: token},
		{path: "/healthz"},
		{path: "/readyz"},
		{path: "/v1/clients"},                                          // 401
		{path: "/v1/clients", token: "wrong"},                          // 401
		{method: http.MethodDelete, path: "/v1/clients", token: token}, // 405
		{path: "/v1/clients", token: token, header: map[string]string{"Origin": "http://evil.example"}}, // 403
	} {
		r := s.send(t, rq)
		h := r.header
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), "%d %s %s", r.status, rq.method, rq.path)
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"), "%d %s", r.status, rq.path)
		assert.Equal(t, "default-src 'none'; frame-ancestors 'none'", h.Get("Content-Security-Policy"), "%d %s", r.status, rq.path)
		assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"), "%d %s", r.status, rq.path)
		assert.Equal(t, "no-store", h.Get("Cache-Control"), "%d %s", r.status, rq.path)
	}
}
