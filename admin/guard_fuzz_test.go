package admin

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzGuard feeds arbitrary Host, Origin, Content-Type and Sec-Fetch-Site
// values to the guard, on a path that is not a probe. It must never panic;
// what it lets through must obey its rules (a read from another site's
// page included; a content type is a browser's rule only), and what it
// refuses is a JSON error.
func FuzzGuard(f *testing.F) {
	allowed := map[string]bool{"ok.example": true}
	f.Add("POST", "127.0.0.1:7071", "http://evil.example", "application/x-www-form-urlencoded", "", true)
	f.Add("POST", "127.0.0.1:7071", "http://127.0.0.1:7071", "application/json; charset=utf-8", "same-origin", true)
	f.Add("POST", "localhost:7071", "", "", "", false)
	f.Add("POST", "127.0.0.1:7071", "", "application/x-www-form-urlencoded", "", true) // curl -d
	f.Add("GET", "evil.example:7071", "", "", "", false)
	f.Add("GET", "[::1]:7071", "", "", "", false)
	f.Add("GET", "127.0.0.1:7071", "http://evil.example", "", "", false)
	f.Add("GET", "127.0.0.1:7071", "", "", "cross-site", false)
	f.Add("DELETE", "OK.example.", "https://ok.example", "", "cross-site", false)
	f.Add("POST", "ok.example:443", "https://ok.example", "text/plain", "", true)
	f.Add("PUT", "", "null", "application/json", "", true)
	f.Add("POST", "[fe80::1%25eth0]:80", "http://[fe80::1%25eth0]", "", "none", false)
	f.Fuzz(func(t *testing.T, method, host, origin, ct, site string, body bool) {
		req := &http.Request{Method: method, Host: host, Header: http.Header{}, URL: &url.URL{Path: "/v1/shutdown"}}
		for k, v := range map[string]string{"Origin": origin, "Content-Type": ct, "Sec-Fetch-Site": site} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		if body {
			req.ContentLength = 2
		}
		passed := false
		rec := httptest.NewRecorder()
		guard(allowed, func(*http.Request, string, string) {}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed = true })).ServeHTTP(rec, req)

		h := hostOnly(host)
		isIP := net.ParseIP(h) != nil
		if passed && !(h == "" || isIP || normalHost(h) == "localhost" || allowed[normalHost(h)]) {
			t.Fatalf("host %q passed", host)
		}
		// A page on another site says so by its Origin or Sec-Fetch-Site
		// (no Sec-Fetch-Mode here: nothing is a followed link).
		crossSite := site == "cross-site" || site == "same-site"
		if !stateChanging[method] && !passed && (h == "" || isIP) && origin == "" && !crossSite {
			t.Fatalf("%s with host %q refused: %s", method, host, rec.Body)
		}
		if passed && origin != "" {
			u, err := url.Parse(origin)
			if err != nil || !sameHostPort(u, host) {
				t.Fatalf("%s from origin %q passed for host %q", method, origin, host)
			}
		}
		if passed && origin == "" && crossSite {
			t.Fatalf("%s marked %s passed", method, site)
		}
		browser := origin != "" || site != ""
		if !browser && rec.Code == http.StatusUnsupportedMediaType {
			t.Fatalf("a tool's %s refused for its content type %q", method, ct)
		}
		if passed && stateChanging[method] && browser {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/x-www-form-urlencoded") {
				t.Fatalf("a form passed: %q", ct)
			}
			if body && ct == "" {
				t.Fatal("a body without a content type passed")
			}
		}
		if passed {
			return
		}
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusUnsupportedMediaType {
			t.Fatalf("refused with %d", rec.Code)
		}
		var e map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 1 || e["error"] == "" {
			t.Fatalf("refusal is not {\"error\": ...}: %s", rec.Body)
		}
	})
}
