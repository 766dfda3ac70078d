package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// FuzzIdentityHandler sends arbitrary methods, paths, queries and JSON
// bodies to the credentials and bans endpoints of the real handler, over
// an identity service kept in memory (so no write can fail). Whatever
// comes in, the answer is one of IDENTITY.md's statuses, an error is
// exactly {"error": "<non-empty>"}, a ban or credential made is deleted
// by the path IDENTITY.md gives for it (its value path-escaped), a
// refused request changes no ban or credential, and a
// listing's next cursor lists the following page. Seeded with the
// endpoints' examples of IDENTITY.md and the identity tests' values.
func FuzzIdentityHandler(f *testing.F) {
	ids := identity.New()
	if err := ids.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = ids.Close() })
	h := New(registry.New(), WithToken("tok"), WithAllowedHosts("admin.test"), WithIdentity(ids)).Handler()
	do := func(t testing.TB, method, target, body string) *httptest.ResponseRecorder {
		req, err := http.NewRequest(method, "http://admin.test"+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer tok")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// Pages of more than one entry, for the cursors.
	for _, b := range []string{`{"kind":"cid","value":"pos-0042"}`, `{"kind":"ip","value":"203.0.113.9"}`,
		`{"kind":"net","value":"10.1.0.0/16"}`, `{"kind":"net","value":"2001:db8::/32"}`} {
		if rec := do(f, http.MethodPost, "/v1/bans", b); rec.Code != http.StatusCreated {
			f.Fatalf("%s: %d %s", b, rec.Code, rec.Body)
		}
	}
	for _, cid := range []string{"a", "pos-0042", "z.z@z"} {
		if rec := do(f, http.MethodPost, "/v1/credentials/"+cid, ""); rec.Code != http.StatusCreated {
			f.Fatalf("%s: %d %s", cid, rec.Code, rec.Body)
		}
	}
	for _, s := range []struct{ method, path, query, body string }{
		{"POST", "/v1/credentials/pos-0042", "", `{"grace": "24h"}`},
		{"POST", "/v1/credentials/pos-0043", "", ""},
		{"POST", "/v1/credentials/pos-0043", "", `{"grace": "-1h"}`},
		{"POST", "/v1/credentials/%2E%2E", "", `{"grace": "2562047h"}`},
		{"POST", "/v1/credentials/a", "", `{"grace": 5}`},
		{"GET", "/v1/credentials", "limit=1", ""},
		{"GET", "/v1/credentials", "prefix=pos-&limit=1&cursor=cG9zLTAwNDI", ""},
		{"GET", "/v1/credentials/pos-0042", "", ""},
		{"DELETE", "/v1/credentials/nobody", "", ""},
		{"POST", "/v1/bans", "", `{"kind": "ip", "value": "203.0.113.9", "reason": "...", "duration": "1h"}`},
		{"POST", "/v1/bans", "", `{"kind": "net", "value": "10.1.2.3/16", "reason": "a\nb"}`},
		{"POST", "/v1/bans", "", `{"kind": "net", "value": "::ffff:10.0.0.0/104"}`},
		{"POST", "/v1/bans", "", `{"kind": "ip", "value": "fe80::1%eth0"}`},
		{"POST", "/v1/bans", "", `{"kind": "cid", "value": "..", "duration": "0s"}`},
		{"POST", "/v1/bans", "", `{"kind": "host", "value": "x", "extra": 1}`},
		{"POST", "/v1/bans", "", ``},
		{"GET", "/v1/bans", "kind=net&limit=1", ""},
		{"GET", "/v1/bans", "cursor=bmV0LzEwLjEuMC4wLzE2", ""},
		{"GET", "/v1/bans", "kind=host", ""},
		{"DELETE", "/v1/bans/net/10.1.0.0%2F16", "", ""},
		{"DELETE", "/v1/bans/net/10.1.0.0/16", "", ""},
		{"DELETE", "/v1/bans/cid/%2E", "", ""},
		{"PUT", "/v1/bans", "", "{}"},
	} {
		f.Add(s.method, s.path, s.query, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") || strings.ContainsAny(query, " \t\r\n#") {
			return // not something an HTTP client can send
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		if _, err := http.NewRequest(method, "http://admin.test"+target, nil); err != nil {
			return // not a URL an HTTP client can send
		}
		before := identityState(ids)
		rec := do(t, method, target, body)
		if rec.Code >= 300 {
			// Refused: nothing of it applied.
			if after := identityState(ids); after != before {
				t.Fatalf("%s %s %q: %d, but the bans and credentials changed:\n%s\n%s", method, target, body, rec.Code, before, after)
			}
		}
		switch rec.Code {
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			if rec.Header().Get("Location") == "" {
				t.Fatalf("%s %s: redirect without Location", method, target)
			}
			return
		case http.StatusOK, http.StatusCreated, http.StatusNoContent, http.StatusBadRequest, http.StatusNotFound,
			http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		default: // a 503 too: a service without a store never fails a write
			t.Fatalf("%s %s %q: status %d: %s", method, target, body, rec.Code, rec.Body)
		}
		if method == http.MethodHead || rec.Code == http.StatusNoContent {
			return
		}
		if rec.Code >= 400 {
			var e map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 1 {
				t.Fatalf("%s %s: %d error body not {\"error\": ...}: %s", method, target, rec.Code, rec.Body)
			}
			if msg, _ := e["error"].(string); msg == "" {
				t.Fatalf("%s %s: empty error: %s", method, target, rec.Body)
			}
			return
		}
		switch {
		case rec.Code == http.StatusCreated && strings.HasPrefix(path, "/v1/bans"):
			var b Ban
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("%s %s: ban %s: %v", method, target, rec.Body, err)
			}
			if v, err := identity.ParseBanValue(b.Kind, b.Value); err != nil || v != b.Value {
				t.Fatalf("%s %q: made ban %s %q, not canonical (%q, %v)", target, body, b.Kind, b.Value, v, err)
			}
			if got := do(t, http.MethodDelete, "/v1/bans/"+b.Kind+"/"+pathSegment(b.Value), ""); got.Code != http.StatusNoContent {
				t.Fatalf("%s %q: ban %s %q made, its delete answered %d %s", target, body, b.Kind, b.Value, got.Code, got.Body)
			}
		case rec.Code == http.StatusCreated && strings.HasPrefix(path, "/v1/credentials/"):
			var c Credential
			if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || c.Secret == "" || protocol.ValidateClientID([]byte(c.CID)) != nil {
				t.Fatalf("%s %q: credential %s (%v)", target, body, rec.Body, err)
			}
			if got := do(t, http.MethodDelete, "/v1/credentials/"+pathSegment(c.CID), ""); got.Code != http.StatusNoContent {
				t.Fatalf("%s: credential %q made, its delete answered %d %s", target, c.CID, got.Code, got.Body)
			}
		case rec.Code == http.StatusOK && method == http.MethodGet && (path == "/v1/bans" || path == "/v1/credentials"):
			var page struct {
				Next string `json:"next"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
				t.Fatalf("%s: list %s: %v", target, rec.Body, err)
			}
			if page.Next == "" {
				return
			}
			next := path + "?cursor=" + page.Next
			if got := do(t, http.MethodGet, next, ""); got.Code != http.StatusOK {
				t.Fatalf("%s: next page %s answered %d %s", target, next, got.Code, got.Body)
			}
		}
	})
}

// identityState is every ban and credential, in order, as text.
func identityState(ids *identity.Service) string {
	bans, _ := ids.Bans("", identity.BanKey{}, 1<<20)
	creds, _ := ids.Credentials("", "", 1<<20)
	return fmt.Sprintf("%+v\n%+v", bans, creds)
}
