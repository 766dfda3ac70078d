package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// Handler serves the API, the metrics and the probes. Unknown paths answer
// 404 and known paths with the wrong method 405 (with Allow), both as JSON
// like every other error.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	routes := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, "/healthz", a.handleHealthz},
		{http.MethodGet, "/readyz", a.handleReadyz},
		{http.MethodGet, "/metrics", a.handleMetrics},
		{http.MethodGet, "/v1/clients", a.handleList},
		{http.MethodGet, "/v1/clients/{cid}", a.handleGet},
		{http.MethodPost, "/v1/clients/{cid}/shutdown", a.handleShutdown},
		{http.MethodPost, "/v1/clients/{cid}/kick", a.handleKick},
		{http.MethodPost, "/v1/shutdown", a.handleShutdownAll},
		{http.MethodGet, "/v1/events", a.handleEvents},
		{http.MethodGet, "/v1/events/stream", a.handleEventsStream},
		{http.MethodGet, "/v1/clients/{cid}/history", a.handleHistory},
		{http.MethodGet, "/v1/stats", a.handleStats},
		{http.MethodGet, "/v1/health", a.handleHealth},
	}
	for _, rt := range routes {
		handle(mux, rt.method+" "+rt.path, rt.h)
		mux.HandleFunc(rt.path, methodNotAllowed(rt.method))
	}
	a.identityRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound(fmt.Sprintf("no endpoint %s: see docs/operations.md for the API", r.URL.Path)))
	})
	// The headers go on every answer (headers.go). The guard goes first:
	// a foreign Host, Origin or body is refused before the token is even
	// looked at (guard.go). The dashboard's files need no token (ui.go);
	// its API calls do. The query is checked once the token passed: its
	// answer names the endpoint's parameters.
	return a.answers.counted(withHeaders(guard(a.opts.allowedHosts, a.answers.guardRefused,
		refuseUncleanPaths(a.withUI(a.authenticate(refuseBadQuery(mux)))))))
}

// methodNotAllowed answers 405 as JSON with an Allow header: allow is one
// method (GET allows HEAD too) or the header's whole list.
func methodNotAllowed(allow string) http.HandlerFunc {
	if allow == http.MethodGet {
		allow = "GET, HEAD"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{
			Error: fmt.Sprintf("method %s not allowed on %s; use %s", r.Method, r.URL.Path, allow),
		})
	}
}

func (a *API) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if a.opts.metrics == nil {
		writeError(w, notFound("metrics are not enabled on this server"))
		return
	}
	a.opts.metrics.Handler().ServeHTTP(w, r)
}

func (a *API) handleList(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := a.ListClients(q)
	a.markStale(w)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// prefixOf reads ?prefix=, the start of the client IDs a listing keeps.
func prefixOf(r *http.Request) (string, error) {
	p := r.URL.Query().Get("prefix")
	if len(p) > protocol.MaxClientID {
		return "", badRequest(fmt.Sprintf("prefix is %d bytes: a client ID has at most %d", len(p), protocol.MaxClientID))
	}
	// A byte no client ID has matched nothing, silently: a script's
	// mistake, which the CLI refuses as one.
	if p != "" && protocol.ValidateClientID([]byte(p)) != nil {
		return "", badRequest(fmt.Sprintf("prefix %q has a byte no client ID has (%s)", p, cidRule))
	}
	return p, nil
}

// parseListQuery reads status, limit, prefix and cursor.
func parseListQuery(r *http.Request) (registry.Query, error) {
	v := r.URL.Query()
	var q registry.Query
	var err error
	status, ok := registry.ParseStatus(v.Get("status"))
	if !ok {
		return q, badRequest(fmt.Sprintf("status %q: want connected, disconnected or all", v.Get("status")))
	}
	q.Status = status
	if q.Limit, err = parseLimit(v.Get("limit"), registry.MaxPageLimit); err != nil {
		return q, err
	}
	if q.Prefix, err = prefixOf(r); err != nil {
		return q, err
	}
	if c := v.Get("cursor"); c != "" {
		after, err := decodeCursor(c)
		if err != nil {
			return q, err
		}
		q.After = after
	}
	return q, nil
}

func (a *API) handleGet(w http.ResponseWriter, r *http.Request) {
	rec, err := a.GetClient(r.PathValue("cid"))
	a.markStale(w)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (a *API) handleShutdown(w http.ResponseWriter, r *http.Request) {
	body, err := readShutdownBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := a.ShutdownClient(r.PathValue("cid"), body.Reason)
	respond(w, http.StatusAccepted, resp, err)
}

func (a *API) handleKick(w http.ResponseWriter, r *http.Request) {
	resp, err := a.KickClient(r.PathValue("cid"))
	respond(w, http.StatusAccepted, resp, err)
}

func (a *API) handleShutdownAll(w http.ResponseWriter, r *http.Request) {
	body, err := readShutdownBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := a.ShutdownAll(body.Reason)
	respond(w, http.StatusAccepted, resp, err)
}

// readShutdownBody reads the optional {"reason": "..."}.
func readShutdownBody(w http.ResponseWriter, r *http.Request) (ShutdownRequest, error) {
	var body ShutdownRequest
	err := readJSONBody(w, r, &body, `{"reason": "..."}`, false)
	return body, err
}

func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	msg := err.Error()
	var re *requestError
	if status == http.StatusInternalServerError && !errors.As(err, &re) {
		msg = "internal error: " + msg
	}
	writeJSON(w, status, ErrorResponse{Error: msg})
}

// respond writes v with status, or err's answer when err is not nil: the
// end of every handler whose method returns a value and an error.
func respond(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages like "Bearer <token>" stay readable
	_ = enc.Encode(v)
}

// parseLimit reads a page's ?limit= (s; "": 0, the default) for a list of
// at most most a page: a whole number from 1; the method gives it its
// bounds (pageSize).
func parseLimit(s string, most int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil && !errors.Is(err, strconv.ErrRange) || n < 1 {
		return 0, badRequest(fmt.Sprintf("limit %q: %s", s, limitRule(most)))
	}
	return int(min(n, math.MaxInt)), nil // ErrRange: the most uint63 there is
}

// pageSize is a page's size from a caller's limit: 0 is def, and one over
// most is most (EVENTS.md: "at most 1000"): a caller who asks for more
// than a page holds gets a full page and its cursor, rather than an error
// for asking too much. A negative one is a mistake.
func pageSize(limit, def, most int) (int, error) {
	switch {
	case limit < 0:
		return 0, badRequest(fmt.Sprintf("limit %d: %s", limit, limitRule(most)))
	case limit == 0:
		return def, nil
	}
	return min(limit, most), nil
}

func limitRule(most int) string {
	return fmt.Sprintf("want a whole number from 1 (at most %d a page)", most)
}
