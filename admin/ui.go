package admin

import (
	"net/http"
	"strings"
)

// withUI serves the dashboard's files (WithUI) ahead of the token check:
// they hold no data, and the page asks the operator for the token that its
// API calls then carry. GET / and GET /ui go to /ui/; /favicon.ico is the page's icon, for
// browsers that ask for it there. Without a dashboard
// every path goes to next, so / stays the API's JSON 404.
func (a *API) withUI(next http.Handler) http.Handler {
	ui := a.opts.ui
	if ui == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p != "/" && p != "/ui" && p != "/favicon.ico" && !strings.HasPrefix(p, "/ui/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(http.MethodGet)(w, r)
			return
		}
		if p == "/" || p == "/ui" {
			http.Redirect(w, r, "/ui/", http.StatusFound)
			return
		}
		ui.ServeHTTP(w, r)
	})
}
