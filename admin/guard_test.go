package admin_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

// The attack of issue #16: with no token, a page on another site posts a
// form to /v1/shutdown. It is refused, and no client got an order: the
// legitimate broadcast afterwards still reaches the one client.
func TestCrossSiteFormCannotShutDownTheFleet(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	c := s.connect(t, "victim-1")
	attacks := []request{
		{method: "POST", path: "/v1/shutdown", body: "reason=pwned", header: map[string]string{
			"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}},
		{method: "POST", path: "/v1/shutdown", header: map[string]string{
			"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}},
		// A foreign origin is refused even with a JSON body.
		{method: "POST", path: "/v1/shutdown", body: `{"reason":"pwned"}`, header: map[string]string{
			"Origin": "http://evil.example", "Content-Type": "application/json"}},
		// Another port of this very host is another origin.
		{method: "POST", path: "/v1/clients/victim-1/kick", header: map[string]string{
			"Origin": "http://127.0.0.1:1"}},
		{method: "POST", path: "/v1/shutdown", header: map[string]string{"Origin": "null"}},
		{method: "POST", path: "/v1/shutdown", header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		// A form submitted is a navigation too, but not a read.
		{method: "POST", path: "/v1/shutdown", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}},
	}
	for _, a := range attacks {
		r := s.send(t, a)
		assert.Equal(t, http.StatusForbidden, r.status, "%+v", a)
		assert.Contains(t, r.errorText(t), "refused", "%+v", a)
	}

	var all admin.ShutdownAllResponse
	r := s.call(t, "POST", "/v1/shutdown", "")
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	r.decode(t, &all)
	assert.Equal(t, 1, all.Sent, "no refused request had ordered the client down")
	c.Expect("130 shutdown")
}

// A browser's state-changing call takes JSON or nothing: a form content
// type is refused even with an empty body, and a body must say it is JSON
// (what a no-cors fetch of a Blob cannot). A browser says it is one by an
// Origin, a Sec-Fetch-* header or a Referer, even from the API's own page.
func TestStateChangingCallsFromABrowserTakeJSONOnly(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	s.connect(t, "json-1")
	browser := func(ct, marker, value string) map[string]string {
		h := map[string]string{marker: value}
		if ct != "" {
			h["Content-Type"] = ct
		}
		return h
	}
	for _, rq := range []request{
		{method: "POST", path: "/v1/shutdown", header: browser("application/x-www-form-urlencoded", "Origin", s.base)},
		{method: "POST", path: "/v1/shutdown", body: `{"reason":"x"}`, header: browser("text/plain", "Sec-Fetch-Site", "same-origin")},
		{method: "POST", path: "/v1/shutdown", body: "--b\r\n\r\nx\r\n--b--", header: browser("multipart/form-data; boundary=b", "Sec-Fetch-Mode", "no-cors")},
		{method: "POST", path: "/v1/clients/json-1/kick", body: `{}`, header: browser("", "Sec-Fetch-Dest", "empty")}, // a body, no type
		{method: "POST", path: "/v1/shutdown", body: `{}`, header: browser("text/plain", "Referer", s.base+"/ui/")},
		{method: "DELETE", path: "/v1/clients", body: `x`, header: browser("text/plain", "Origin", s.base)}, // before the 405
	} {
		r := s.send(t, rq)
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status, "%+v: %s", rq, r.body)
		assert.Contains(t, r.errorText(t), "application/json", "%+v", rq)
	}
	rec, _ := s.reg.Get("json-1")
	assert.True(t, rec.CStatus, "nothing reached the client")

	// JSON that says so (a charset included), from the API's own origin.
	r := s.send(t, request{method: "POST", path: "/v1/clients/json-1/shutdown", body: `{"reason":"maintenance"}`,
		header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": s.base}})
	assert.Equal(t, http.StatusAccepted, r.status, r.body)
}

// Tools are not browsers: curl -d sends a form type, Go's and Python's
// HTTP clients send no type, and the body is read as JSON whatever its
// type says. Before, each got 415 for a JSON body.
func TestStateChangingCallsFromToolsTakeAnyContentType(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for i, ct := range []string{"application/x-www-form-urlencoded", "", "text/plain"} {
		cid := fmt.Sprintf("tool-%d", i)
		c := s.connect(t, cid)
		rq := request{method: "POST", path: "/v1/clients/" + cid + "/shutdown", body: `{"reason":"from a tool"}`}
		if ct != "" {
			rq.header = map[string]string{"Content-Type": ct}
		}
		r := s.send(t, rq)
		assert.Equal(t, http.StatusAccepted, r.status, "%q: %s", ct, r.body)
		c.Expect("130 shutdown from a tool")
	}
	r := s.send(t, request{method: "POST", path: "/v1/shutdown", body: `reason=x`,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	assert.Equal(t, http.StatusBadRequest, r.status, "a form's body is no JSON: %s", r.body)
	assert.Contains(t, r.errorText(t), "not valid JSON")
	r = s.send(t, request{method: "POST", path: "/v1/clients/tool-9/kick"})
	assert.Equal(t, http.StatusNotFound, r.status, "no body, no type: %s", r.body)
}

// DNS rebinding: a page whose own name now points at 127.0.0.1 sends its
// name as Host. Host names other than localhost and the allowed ones are
// refused, on every path but the probes; IP addresses always pass
// (Kubernetes probes send the pod's).
func TestHostNamesOutsideTheAllowListAreRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{apiOpts: []admin.Option{admin.WithAllowedHosts("Cliser.Example.NET.")}})
	port := s.base[strings.LastIndex(s.base, ":")+1:]
	for _, host := range []string{"evil.example:" + port, "evil.example", "localhost.evil.example:" + port, "127.0.0.1.nip.io:" + port} {
		for _, path := range []string{"/v1/clients", "/metrics", "/v1/events/stream", "/ui/"} {
			r := s.send(t, request{method: "GET", path: path, host: host})
			assert.Equal(t, http.StatusForbidden, r.status, "%s %s", host, path)
			assert.Contains(t, r.errorText(t), "--admin-allowed-hosts", "%s %s", host, path)
		}
		// A health check by a service name: the probes say only ok.
		for _, path := range []string{"/healthz", "/readyz"} {
			r := s.send(t, request{method: "GET", path: path, host: host})
			assert.Equal(t, http.StatusOK, r.status, "%s %s: %s", host, path, r.body)
		}
	}
	for _, host := range []string{"localhost:" + port, "LOCALHOST", "localhost.", "127.0.0.1:" + port, "[::1]:" + port,
		"10.244.3.17:7071", "cliser.example.net:" + port, "CLISER.example.net"} {
		r := s.send(t, request{method: "GET", path: "/v1/clients", host: host})
		assert.Equal(t, http.StatusOK, r.status, "%s: %s", host, r.body)
	}
	// The same-origin rule follows the Host the browser used.
	r := s.send(t, request{method: "POST", path: "/v1/shutdown", host: "cliser.example.net:" + port,
		header: map[string]string{"Origin": "http://cliser.example.net:" + port}})
	assert.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
}

// The operator's own tools pass the guard: admin.Client is what `cliser
// clients shutdown/kick` and `cliser health` use.
func TestAdminClientPassesTheGuard(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	a := s.connect(t, "cli-a")
	s.connect(t, "cli-b")
	c, err := admin.NewClient(s.base, "", 5*time.Second)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Shutdown(ctx, "cli-a", "with a reason")
	require.NoError(t, err)
	a.Expect("130 shutdown with a reason")
	_, err = c.Kick(ctx, "cli-b")
	require.NoError(t, err)
	require.NoError(t, c.Probe(ctx, "/healthz"))
	require.NoError(t, c.Probe(ctx, "/readyz"))
}

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
		{http.MethodPut, "/v1/credentials", "GET, HEAD"},
		{http.MethodPatch, "/v1/credentials/x", "GET, HEAD, POST, DELETE"},
		{http.MethodGet, "/v1/bans/cid/x", "DELETE"},
		{http.MethodGet, "/v1/bans/net/10.1.0.0/16", "DELETE"},
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
	// is in limit_test.go).
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
		// Every other route of http.go and identity_http.go.
		{http.MethodGet, "/v1/events"},
		{http.MethodGet, "/v1/events/stream"},
		{http.MethodGet, "/v1/clients/tok-1/history"},
		{http.MethodGet, "/v1/stats"},
		{http.MethodGet, "/v1/credentials"},
		{http.MethodGet, "/v1/credentials/tok-1"},
		{http.MethodPost, "/v1/credentials/tok-1"},
		{http.MethodDelete, "/v1/credentials/tok-1"},
		{http.MethodGet, "/v1/bans"},
		{http.MethodPost, "/v1/bans"},
		{http.MethodDelete, "/v1/bans/cid/tok-1"},
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
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+token))
	r := s.send(t, request{path: "/v1/clients", header: map[string]string{"Authorization": basic}})
	assert.Equal(t, http.StatusUnauthorized, r.status)

	// Nothing reached the client.
	rec, _ := s.reg.Get("tok-1")
	assert.True(t, rec.CStatus)

	// The probes stay open.
	assert.Equal(t, http.StatusOK, s.callToken(t, http.MethodGet, "/healthz", "", "").status)
	assert.Equal(t, http.StatusOK, s.callToken(t, http.MethodGet, "/readyz", "", "").status)

	// The right token works everywhere, the scheme in any case.
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/v1/clients", "").status)
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/metrics", "").status)
	r = s.send(t, request{path: "/v1/clients/tok-1", header: map[string]string{"Authorization": "bearer " + token}})
	assert.Equal(t, http.StatusOK, r.status)

	// Two Authorization headers, in either order: a 400, not the first
	// one's verdict (a wrong token then the right one was a 401, the
	// reverse a 200).
	for _, pair := range [][2]string{{"wrong", token}, {token, "wrong"}} {
		req, err := http.NewRequest(http.MethodGet, s.base+"/v1/clients", nil)
		require.NoError(t, err)
		req.Header.Add("Authorization", "Bearer "+pair[0])
		req.Header.Add("Authorization", "Bearer "+pair[1])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v: %s", pair, body)
		assert.Contains(t, string(body), "more than one Authorization header", "%v", pair)
	}
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

// The Origin's scheme is not compared with the API's: the API speaks
// plain HTTP, and a TLS terminator in front of it forwards the browser's
// Host with the page's https:// Origin (the dashboard through it).
// Held to http, each such call got 403. Its host and port still count.
func TestOriginSchemeIsNotCompared(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{apiOpts: []admin.Option{admin.WithAllowedHosts("cliser.example.net")}})
	hostport := strings.TrimPrefix(s.base, "http://")
	kick := func(host, origin string) reply {
		return s.send(t, request{method: "POST", path: "/v1/clients/nobody/kick", host: host,
			header: map[string]string{"Origin": origin}})
	}
	for _, c := range []struct{ host, origin string }{
		{"cliser.example.net", "https://cliser.example.net"},     // a terminator on 443, Host forwarded
		{"cliser.example.net:443", "https://cliser.example.net"}, // the same, the port in Host
		{hostport, "https://" + hostport},
		{hostport, "http://" + hostport},
	} {
		r := kick(c.host, c.origin)
		assert.Equal(t, http.StatusNotFound, r.status, "Host %s, Origin %s: %s", c.host, c.origin, r.body) // past the guard
	}
	for _, c := range []struct{ host, origin string }{
		{"cliser.example.net:443", "https://cliser.example.net:8443"},
		{hostport, "https://127.0.0.1:1"},
	} {
		r := kick(c.host, c.origin)
		assert.Equal(t, http.StatusForbidden, r.status, "Host %s, Origin %s: %s", c.host, c.origin, r.body)
	}
}

// A Host without a port is the default port of the scheme the browser
// used, 80 or 443: an Origin on another port of that host is another
// origin, refused as one beside a Host that names its port is. It passed:
// the Host's missing port was filled in with the Origin's, whatever it
// was, so a page at https://host:8443 could call the API at https://host.
func TestOriginOnAnotherPortOfAPortlessHostIsRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{apiOpts: []admin.Option{admin.WithAllowedHosts("cliser.example.net")}})
	kick := func(host, origin string) reply {
		return s.send(t, request{method: "POST", path: "/v1/clients/nobody/kick", host: host,
			header: map[string]string{"Origin": origin}})
	}
	for _, c := range []struct{ host, origin string }{
		{"cliser.example.net", "https://cliser.example.net:8443"},
		{"cliser.example.net", "http://cliser.example.net:8080"},
		{"127.0.0.1", "http://127.0.0.1:7071"},
		{"cliser.example.net", "ftp://cliser.example.net"},
	} {
		r := kick(c.host, c.origin)
		assert.Equal(t, http.StatusForbidden, r.status, "Host %s, Origin %s: %s", c.host, c.origin, r.body)
	}
	for _, c := range []struct{ host, origin string }{
		{"cliser.example.net", "https://cliser.example.net"},
		{"cliser.example.net", "http://cliser.example.net"},
		{"127.0.0.1", "http://127.0.0.1"},
	} {
		r := kick(c.host, c.origin)
		assert.Equal(t, http.StatusNotFound, r.status, "Host %s, Origin %s: %s", c.host, c.origin, r.body) // past the guard
	}
}
