package admin

import "net/http"

// apiCSP forbids whatever an answer of the API could load or run, and any
// frame around it. The dashboard's files replace it with their own (ui.CSP).
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// withHeaders puts the security headers on every answer of the admin
// listener, errors and refusals included; a handler may replace them.
// Answers echo what was asked (a path, a filter, a ban's reason) as JSON:
// nosniff keeps a browser from reading one as a page of the API's origin,
// and the rest keeps the answers out of frames, out of caches and out of
// the Referer of a link followed.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", apiCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
