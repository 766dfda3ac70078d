package admin

import (
	"net/http"
	"strings"
)

// UIConfigPath is what the dashboard must know before its first API call
// (UIConfig). Like the files it needs no token, and like them it is
// behind the Host guard.
const UIConfigPath = "/ui/config.json"

// UIConfig is GET /ui/config.json. Token says the API wants the admin
// token, so that the page asks for it at once rather than learning it
// from a 401, which the browser logs as an error; Events says there is an
// event log, so that the page does not open a stream that answers 404. A
// caller learns no more than a 401 tells, and whether events are kept.
type UIConfig struct {
	Token  bool `json:"token"`
	Events bool `json:"events"`
	// Cluster says records name their node: a single node's records do
	// not, though its events do, so its rows show no node either way.
	Cluster bool `json:"cluster"`
}

// withUI serves the dashboard's files (WithUI) ahead of the token check:
// they hold no data, and the page asks the operator for the token that its
// API calls then carry. GET / and GET /ui go to /ui/; /favicon.ico is the page's icon, for
// browsers that ask for it there. Without a dashboard
// every path goes to next, so / stays the API's JSON 404.
func (a *API) withUI(next http.Handler) http.Handler {
	return uiPaths(a.opts.ui, next, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != UIConfigPath {
			return false
		}
		// With the API's headers (headers.go).
		writeJSON(w, http.StatusOK, UIConfig{Token: a.opts.tokens.Len() > 0, Events: a.opts.events != nil, Cluster: a.opts.nodes != nil})
		return true
	})
}

// uiPaths routes the dashboard's paths (/, /ui, /ui/..., /favicon.ico)
// to ui, and every other to next: a method other than GET and HEAD is
// 405, / and /ui go to /ui/, own answers the paths it knows (true), and
// ui's files are the rest. Without ui (nil) it is next.
func uiPaths(ui, next http.Handler, own func(http.ResponseWriter, *http.Request) bool) http.Handler {
	if ui == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p != "/" && p != "/ui" && p != "/favicon.ico" && !strings.HasPrefix(p, "/ui/"):
			next.ServeHTTP(w, r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			methodNotAllowed(http.MethodGet)(w, r)
		case p == "/" || p == "/ui":
			http.Redirect(w, r, "/ui/", http.StatusFound)
		case !own(w, r):
			ui.ServeHTTP(w, r)
		}
	})
}
