package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/registry"
)

// identityRoutes serves the credentials and bans endpoints on mux, with the
// same 405 answers as the other routes.
func (a *API) identityRoutes(mux *http.ServeMux) {
	for _, rt := range []struct {
		path    string
		allow   string
		methods map[string]http.HandlerFunc
	}{
		{"/v1/credentials", "GET, HEAD", map[string]http.HandlerFunc{http.MethodGet: a.handleListCredentials}},
		{"/v1/credentials/{cid}", "GET, HEAD, POST, DELETE", map[string]http.HandlerFunc{
			http.MethodGet: a.handleGetCredential, http.MethodPost: a.handleCreateCredential, http.MethodDelete: a.handleDeleteCredential}},
		{"/v1/bans", "GET, HEAD, POST", map[string]http.HandlerFunc{http.MethodGet: a.handleListBans, http.MethodPost: a.handleCreateBan}},
		{"/v1/bans/{kind}/{value}", "DELETE", map[string]http.HandlerFunc{http.MethodDelete: a.handleDeleteBan}},
		// A network typed as it is listed (curl sends 10.1.0.0/16 as two
		// segments): the same ban as its escaped form, not "no endpoint".
		{"/v1/bans/net/{addr}/{bits}", "DELETE", map[string]http.HandlerFunc{http.MethodDelete: a.handleDeleteNetBan}},
	} {
		for m, h := range rt.methods {
			handle(mux, m+" "+rt.path, h)
		}
		mux.HandleFunc(rt.path, methodNotAllowed(rt.allow))
	}
}

func (a *API) handleCreateCredential(w http.ResponseWriter, r *http.Request) {
	var body CredentialRequest
	if err := readJSONBody(w, r, &body, `{"grace": "24h"}`, false); err != nil {
		writeError(w, err)
		return
	}
	var grace time.Duration
	if body.Grace != "" {
		d, err := time.ParseDuration(body.Grace)
		if err != nil || d < 0 {
			// A well-written one past Go's 290 years was told to be a
			// duration, as if it were not one (admin audit).
			writeError(w, badRequest(fmt.Sprintf("grace %q: want a duration like 24h, at most 2562047h, or none", body.Grace)))
			return
		}
		grace = d
	}
	resp, err := a.CreateCredential(r.Context(), r.PathValue("cid"), grace)
	respond(w, http.StatusCreated, resp, err)
}

func (a *API) handleListCredentials(w http.ResponseWriter, r *http.Request) {
	prefix, err := prefixOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	listPage(w, r, decodeCursor, func(after string, limit int) (CredentialList, error) {
		return a.ListCredentials(after, prefix, limit)
	})
}

func (a *API) handleGetCredential(w http.ResponseWriter, r *http.Request) {
	resp, err := a.GetCredential(r.PathValue("cid"))
	respond(w, http.StatusOK, resp, err)
}

func (a *API) handleDeleteCredential(w http.ResponseWriter, r *http.Request) {
	deleted(w, a.DeleteCredential(r.Context(), r.PathValue("cid")))
}

func (a *API) handleCreateBan(w http.ResponseWriter, r *http.Request) {
	var body BanRequest
	if err := readJSONBody(w, r, &body, `{"kind": "ip", "value": "203.0.113.9", "reason": "...", "duration": "1h"}`, true); err != nil {
		writeError(w, err)
		return
	}
	resp, err := a.CreateBan(r.Context(), body)
	respond(w, http.StatusCreated, resp, err)
}

func (a *API) handleListBans(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	listPage(w, r, decodeBanCursor, func(after identity.BanKey, limit int) (BanList, error) {
		return a.ListBans(kind, after, limit)
	})
}

func (a *API) handleDeleteBan(w http.ResponseWriter, r *http.Request) {
	deleted(w, a.DeleteBan(r.Context(), r.PathValue("kind"), r.PathValue("value")))
}

func (a *API) handleDeleteNetBan(w http.ResponseWriter, r *http.Request) {
	deleted(w, a.DeleteBan(r.Context(), "net", r.PathValue("addr")+"/"+r.PathValue("bits")))
}

// listPage answers a listing: its page (pageOf) through list, as JSON.
func listPage[K, R any](w http.ResponseWriter, r *http.Request, decode func(string) (K, error), list func(after K, limit int) (R, error)) {
	after, limit, err := pageOf(r, decode)
	if err != nil {
		writeError(w, err)
		return
	}
	resp, err := list(after, limit)
	respond(w, http.StatusOK, resp, err)
}

// deleted answers a DELETE: 204 with no body, or err.
func deleted(w http.ResponseWriter, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pageOf reads a listing's ?limit= and its ?cursor=, which decode turns
// into the key to list after (the zero key without one).
func pageOf[K any](r *http.Request, decode func(string) (K, error)) (after K, limit int, err error) {
	if limit, err = parseLimit(r.URL.Query().Get("limit"), registry.MaxPageLimit); err != nil {
		return after, 0, err
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		after, err = decode(c)
	}
	return after, limit, err
}
