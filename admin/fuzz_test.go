package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// FuzzCursor: any text given as a cursor is either refused or names a
// valid client ID that encodes back to a cursor meaning the same.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "cG9zLTAwNDI", "!!!", "bm90IGFuIGlk", "YQ", "YR", "_-_-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cid, err := decodeCursor(s)
		if err != nil {
			return
		}
		if protocol.ValidateClientID([]byte(cid)) != nil {
			t.Fatalf("cursor %q decoded to invalid id %q", s, cid)
		}
		back, err := decodeCursor(encodeCursor(cid))
		if err != nil || back != cid {
			t.Fatalf("round trip of %q: %q, %v", cid, back, err)
		}
	})
}

// FuzzHandler sends arbitrary method, path, query and body through the
// real handler (over a registry with records, without a reactor: every
// record is disconnected, so no command reaches a connection). Whatever
// comes in, the answer is one of the documented statuses with a JSON body
// (or ServeMux's redirect of a subtree's root to its slash, "/ui" to
// "/ui/"; an unclean path is a 400), and every error body is
// exactly {"error": "<non-empty>"}.
func FuzzHandler(f *testing.F) {
	reg := registry.New()
	for _, cid := range []string{"pos-0042", "a", "z.z@z"} {
		if _, _, err := reg.Register(cid, "192.0.2.1", "4000", nil); err != nil {
			f.Fatal(err)
		}
		reg.Disconnect(cid, nil, protocol.ReasonClosedByClient)
	}
	h := New(reg, WithToken("tok"), WithAllowedHosts("admin.test")).Handler()
	f.Add("GET", "/v1/clients", "status=all&limit=2", "", true)
	f.Add("GET", "/v1/clients/pos-0042", "", "", true)
	f.Add("POST", "/v1/clients/pos-0042/shutdown", "", `{"reason":"x"}`, true)
	f.Add("POST", "/v1/shutdown", "", `{"reason":`, true)
	f.Add("POST", "/v1/clients/a/kick", "", "", false)
	f.Add("DELETE", "/v1/clients", "cursor=%%%", "", true)
	f.Add("GET", "/healthz", "", "", false)
	f.Add("POST", "/v1//shutdown", "", `{"REASON":"x","reason":"y"}`, true)
	f.Add("POST", "/v1/shutdown", "", "null", true)
	f.Add("GET", "/v1/clients", "limit=2&limit=3", "", true)
	f.Fuzz(func(t *testing.T, method, path, query, body string, auth bool) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#%") || strings.ContainsAny(query, " \t\r\n#") {
			return // not something an HTTP client can send
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(method, "http://admin.test"+target, strings.NewReader(body))
		if err != nil {
			return // not a URL an HTTP client can send
		}
		if auth {
			req.Header.Set("Authorization", "Bearer tok")
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			// ServeMux sends a subtree's root to its slash.
			if rec.Header().Get("Location") == "" {
				t.Fatalf("%s %s: redirect without Location", method, target)
			}
			return
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusServiceUnavailable,
			http.StatusUnsupportedMediaType: // a GET, DELETE or HEAD with a body (guard.go)
		default:
			t.Fatalf("%s %s: status %d: %s", method, target, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			if rec.Code == http.StatusOK && strings.HasPrefix(req.URL.Path, "/metrics") {
				return
			}
			if !json.Valid(rec.Body.Bytes()) && method != http.MethodHead {
				t.Fatalf("%s %s: %d not JSON: %s", method, target, rec.Code, rec.Body)
			}
			return
		}
		if method == http.MethodHead {
			return
		}
		var e map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 1 {
			t.Fatalf("%s %s: %d error body not {\"error\": ...}: %s", method, target, rec.Code, rec.Body)
		}
		if msg, _ := e["error"].(string); msg == "" {
			t.Fatalf("%s %s: empty error: %s", method, target, rec.Body)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
