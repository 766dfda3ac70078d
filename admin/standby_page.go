package admin

import (
	"html/template"
	"net/http"
)

// standbyReload is how often the standby's page asks again: the API's
// dashboard replaces it at the first reload after the node is up.
const standbyReload = "2"

// standbyScript reloads the page, fragment and all. A meta refresh would
// not: to a URL with a fragment (/ui/#/overview) it is a move within the
// page, and the page stayed put once the node was up. It is a file of its
// own (standbyScriptPath), not inline: DASHBOARD.md wants a CSP without
// inline scripts, a hash-allowed one included.
const standbyScript = "setTimeout(function () { location.reload() }, " + standbyReload + "000)\n"

// standbyScriptPath is where the standby serves standbyScript; the
// dashboard has no file there.
const standbyScriptPath = "/ui/standby-reload.js"

// standbyCSP lets the page run its own script file and nothing else.
const standbyCSP = "default-src 'none'; script-src 'self'; frame-ancestors 'none'"

// standbyPage is the dashboard's place while a standby answers (a cluster
// node waiting for NATS): a page that says why and reloads itself, so
// that an operator who opened the dashboard during the wait sees the
// reason, then the dashboard, rather than a JSON refusal (401 with a
// token: the token check had come first). It holds no more than /readyz
// does, which needs no token either; the dashboard's static files are
// served as ever.
var standbyPage = template.Must(template.New("standby").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cliser: starting</title>
<script src="` + standbyScriptPath + `"></script></head>
<body><h1>cliser is not serving yet</h1><p id="why">{{.}}</p>
<p>This page reloads every ` + standbyReload + ` seconds; the dashboard follows once the node is up.</p></body></html>
`))

// withStandbyPage answers the dashboard's paths ahead of the token check
// while the standby holds the address, when the node has a dashboard:
// / and /ui go to /ui/, /ui/ is standbyPage (503) and its script, the
// page's data (UIConfigPath) 503 with why, its static files themselves.
func (a *API) withStandbyPage(why func() string, next http.Handler) http.Handler {
	return uiPaths(a.opts.ui, next, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/ui/", "/ui/index.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", standbyCSP)
			w.Header().Set("Retry-After", standbyReload)
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = standbyPage.Execute(w, why())
		case standbyScriptPath:
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Content-Security-Policy", standbyCSP)
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write([]byte(standbyScript))
		case UIConfigPath:
			w.Header().Set("Retry-After", standbyReload)
			writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "not serving the API yet: " + why()})
		default:
			return false
		}
		return true
	})
}
