package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// refuseUncleanPaths answers 400 to a path that net/http's mux would
// answer with a redirect to its cleaned form, which HTTP clients follow
// with the same method: one with a "." or ".." segment written as such
// (POST /v1/clients/../shutdown became POST /v1/shutdown and shut every
// client down; a client ID may be "." or "..", named as %2E or %2E%2E,
// which the routes read as the ID), or with an empty segment ("//": an
// HTML 307, not the JSON every error is).
func refuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if strings.Contains(p, "//") {
			writeError(w, badRequest(fmt.Sprintf("path %s has an empty segment (//): name each part once", p)))
			return
		}
		for seg := range strings.SplitSeq(p, "/") {
			if seg == "." || seg == ".." {
				writeError(w, badRequest(fmt.Sprintf("path %s has a %q segment, which HTTP clients and servers resolve: write a client ID of . or .. as %%2E or %%2E%%2E",
					p, seg)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// pathSegment is s escaped as one segment of a path: url.PathEscape, and
// "." and ".." (client IDs too) as %2E and %2E%2E, which no HTTP client
// or server resolves.
func pathSegment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}
