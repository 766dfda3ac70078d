package admin

import (
	"io"
	"net/http"
	"strings"
	"sync"
)

// endpointParams are the query parameters each route under /v1/ reads,
// by its ServeMux pattern (a GET one answers HEAD too), in the order its
// docs give them. Any other is refused (checkQuery): one list for the
// whole API let ?cursor= through on GET /v1/events (which pages by
// after), ?status= on GET /v1/health, ?limit= on GET /v1/clients/{cid},
// each answered as if not asked (interface audit). A route under /v1/ that
// is not here panics when the handler is built (handle), so a new one
// cannot skip the check.
var endpointParams = map[string][]string{
	"GET /v1/clients":                 {"status", "prefix", "limit", "cursor"},
	"GET /v1/clients/{cid}":           nil,
	"GET /v1/clients/{cid}/history":   {"limit"},
	"POST /v1/clients/{cid}/shutdown": nil,
	"POST /v1/clients/{cid}/kick":     nil,
	"POST /v1/shutdown":               nil,
	// Not wait and limit, which are GET /v1/events' alone (and which
	// handleEventsStream refuses as well); its Last-Event-ID is a header.
	"GET /v1/events":                    {"after", "limit", "type", "cid", "wait"},
	"GET /v1/events/stream":             {"after", "type", "cid"},
	"GET /v1/stats":                     nil,
	"GET /v1/health":                    nil,
	"GET /v1/credentials":               {"limit", "cursor", "prefix"},
	"GET /v1/credentials/{cid}":         nil,
	"POST /v1/credentials/{cid}":        nil,
	"DELETE /v1/credentials/{cid}":      nil,
	"GET /v1/bans":                      {"kind", "limit", "cursor"},
	"POST /v1/bans":                     nil,
	"DELETE /v1/bans/{kind}/{value}":    nil,
	"DELETE /v1/bans/net/{addr}/{bits}": nil,
}

// endpoints matches a request to its pattern in endpointParams, as the
// API's mux does: the same patterns, the same precedence.
var endpoints = sync.OnceValue(func() *http.ServeMux {
	mux := http.NewServeMux()
	for p := range endpointParams {
		mux.Handle(p, http.NotFoundHandler()) // only the pattern is used
	}
	return mux
})

// paramsOf is the pattern of r's endpoint under /v1/ and the parameters
// it reads; ok false when r names none (a 404 or 405 to come).
func paramsOf(r *http.Request) (pattern string, params []string, ok bool) {
	_, pattern = endpoints().Handler(r)
	params, ok = endpointParams[pattern]
	return pattern, params, ok
}

// handle registers h for pattern on mux, which under /v1/ must be in
// endpointParams.
func handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	_, path, _ := strings.Cut(pattern, " ")
	if _, ok := endpointParams[pattern]; !ok && strings.HasPrefix(path, "/v1/") {
		panic("admin: route " + pattern + " is not in endpointParams: name the query parameters it reads")
	}
	if takesNoBody[pattern] {
		h = refusingBody(pattern, h)
	}
	mux.HandleFunc(pattern, h)
}

// takesNoBody are the state-changing routes that read no body. One sent
// is refused, as an unknown query parameter is: kick with
// {"reason": "..."} answered 202 as if the reason were taken (API audit).
var takesNoBody = map[string]bool{
	"POST /v1/clients/{cid}/kick":       true,
	"DELETE /v1/credentials/{cid}":      true,
	"DELETE /v1/bans/{kind}/{value}":    true,
	"DELETE /v1/bans/net/{addr}/{bits}": true,
}

// refusingBody is h behind a 400 for a request with a body. A chunked
// body is told by its first byte.
func refusingBody(pattern string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b [1]byte
		done := readingBody(r)
		n, _ := io.ReadFull(r.Body, b[:])
		done()
		if n > 0 {
			writeError(w, badRequest(pattern+" takes no body: send none"))
			return
		}
		h(w, r)
	}
}
