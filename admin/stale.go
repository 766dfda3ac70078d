package admin

import "net/http"

// HeaderStale is set to "true" on a read (GET /v1/clients, GET
// /v1/clients/{cid}) that was answered from a copy that may lag: in
// cluster mode, the node's mirror while NATS does not answer
// (docs/cluster.md). It is absent on a fresh answer.
const HeaderStale = "X-Cliser-Stale"

// markStale sets HeaderStale when the directory says its reads are stale.
// It is asked after the read, so that a read that found NATS away is
// marked.
func (a *API) markStale(w http.ResponseWriter) {
	if s, ok := a.dir.(Staler); ok && s.Stale() {
		w.Header().Set(HeaderStale, "true")
	}
}
