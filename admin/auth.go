package admin

import (
	"net/http"
	"strings"
	"time"
)

// openPaths answer without a token: an orchestrator's probes carry none.
var openPaths = map[string]bool{"/healthz": true, "/readyz": true}

// authenticate wraps next so that, when tokens are set, every path but the
// probes wants "Authorization: Bearer <token>", one of them (Tokens.match:
// constant time on digests).
func (a *API) authenticate(next http.Handler) http.Handler {
	tokens := a.opts.tokens
	if tokens.Len() == 0 {
		return next
	}
	lim := a.authLimiter()
	wrongToken := "wrong bearer token: send the server's CLISER_ADMIN_TOKEN, or a line of its --admin-token-file " +
		"as it reads now (a reload drops the lines taken out)" + lim.lockout()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ip, now := remoteIP(r), time.Now()
		key := lim.key(ip)
		if wait := lim.retryAfter(ip, key, now); wait > 0 {
			tooManyFailures(w, ip, key, wait)
			return
		}
		// Two headers: which one counted was the order's doing (a wrong
		// token then the right one was a 401, the reverse a 200).
		if len(r.Header.Values("Authorization")) > 1 {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: "more than one Authorization header: send one"})
			return
		}
		given, ok := bearer(r)
		if !ok {
			lim.failed(ip, key, false, now)
			unauthorized(w, noBearer(r)+": send Authorization: Bearer <token> (the server's CLISER_ADMIN_TOKEN, or a line of its --admin-token-file)")
			return
		}
		if !tokens.match(given) {
			lim.failed(ip, key, true, now)
			unauthorized(w, wrongToken)
			return
		}
		lim.succeeded(key, now)
		next.ServeHTTP(w, r)
	})
}

// noBearer says what was wrong with a request without a bearer token,
// never quoting its header (a token may be in it).
func noBearer(r *http.Request) string {
	if r.Header.Get("Authorization") == "" {
		return "missing bearer token"
	}
	return `the Authorization header is not "Bearer <token>"`
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="cliser admin"`)
	writeJSON(w, http.StatusUnauthorized, ErrorResponse{Error: msg})
}
