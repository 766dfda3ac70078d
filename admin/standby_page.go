package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
)

// standbyReload is how often the standby's page asks again: the API's
// dashboard replaces it at the first reload after the node is up.
const standbyReload = "2"

// standbyScript reloads the page, fragment and all. A meta refresh would
// not: to a URL with a fragment (/ui/#/overview) it is a move within the
// page, and the page stayed put once the node was up.
const standbyScript = "setTimeout(function () { location.reload() }, " + standbyReload + "000)"

// standbyCSP is the API's, but for the page's one script, by its hash.
var standbyCSP = func() string {
	sum := sha256.Sum256([]byte(standbyScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

// standbyPage is the dashboard's place while a standby answers (a cluster
// node waiting for NATS): a page that says why and reloads itself, so
// that an operator who opened the dashboard during the wait sees the
// reason, then the dashboard, rather than a JSON refusal (401 with a
// token: the token check had come first). It holds no more than /readyz
// does, which needs no token either; the dashboard's static files are
// served as ever.
var standbyPage = template.Must(template.New("standby").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cliser: starting</title>
<script>` + standbyScript + `</script></head>
<body><h1>cliser is not serving yet</h1><p id="why">{{.}}</p>
<p>This page reloads every ` + standbyReload + ` seconds; the dashboard follows once the node is up.</p></body></html>
`))

// withStandbyPage answers the dashboard's paths ahead of the token check
// while the standby holds the address, when the node has a dashboard:
// / and /ui go to /ui/, /ui/ is standbyPage (503), the page's data
// (UIConfigPath) 503 with why, its static files themselves.
func (a *API) withStandbyPage(why func() string, next http.Handler) http.Handler {
	return uiPaths(a.opts.ui, next, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/ui/", "/ui/index.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", standbyCSP)
			w.Header().Set("Retry-After", standbyReload)
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = standbyPage.Execute(w, why())
		case UIConfigPath:
			w.Header().Set("Retry-After", standbyReload)
			writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "not serving the API yet: " + why()})
		default:
			return false
		}
		return true
	})
}
