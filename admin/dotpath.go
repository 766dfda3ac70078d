package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// refuseDotSegments answers 400 to a path with a "." or ".." segment
// written as such. A client ID may be "." or "..", and net/http's mux
// answers such a path with a redirect to its cleaned form, which HTTP
// clients follow with the same method: POST /v1/clients/../shutdown
// became POST /v1/shutdown and shut every client down. Such an ID is
// named as %2E or %2E%2E, which the routes read as the ID.
func refuseDotSegments(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for seg := range strings.SplitSeq(r.URL.EscapedPath(), "/") {
			if seg == "." || seg == ".." {
				writeError(w, badRequest(fmt.Sprintf("path %s has a %q segment, which HTTP clients and servers resolve: write a client ID of . or .. as %%2E or %%2E%%2E",
					r.URL.EscapedPath(), seg)))
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
