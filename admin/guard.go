package admin

import (
	"fmt"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The guard keeps a web page out of the admin API. Browsers let any page
// send a POST to any address, the loopback included (a form, or fetch in
// no-cors mode), and DNS rebinding lets a page's own host name point at
// 127.0.0.1 so that its script can read the answers too. So, before the
// token check and for every route present and future:
//
//   - a request whose Host is a host name must name localhost or one of
//     the allowed names (WithAllowedHosts); an IP address always passes,
//     since DNS rebinding needs a name and Kubernetes probes send the
//     pod's IP, and so do the probes (openPaths), which tell a page
//     nothing but ok and which a health check may call by a service name;
//   - a request with an Origin must come from the API's own origin
//     (scheme aside, host:port equal to the Host: the API is plain HTTP,
//     so an https:// origin is a TLS terminator in front of it, and the
//     scheme the browser used is not the server's to see), and one the browser
//     marks cross-site is refused, unless it is a GET or HEAD that follows
//     a link (the linking page cannot read the answer). A state-changing
//     request (POST, PUT, PATCH, DELETE) could act; a read could not be
//     read across origins (the API grants no CORS), but a page's
//     EventSource or long-poll would still hold a slot of the listener
//     (waits.go), for nothing. The probes are spared the read rule;
//   - a state-changing request from a browser (it sends an Origin, a
//     Sec-Fetch-* header or a Referer) with a body must say Content-Type:
//     application/json, which no form and no no-cors fetch can send; a
//     form content type is refused even with an empty body. The Origin
//     rule stops a page on another site already: this one holds for a
//     browser that left its Origin out.
//
// curl, scripts, the operator CLI and the probes send no Origin, so they
// pass, with any content type: curl -d sends a form type by default, and
// Go's and Python's HTTP clients send none; the body is read as JSON all
// the same.

// stateChanging are the methods the Origin and Content-Type rules apply to.
var stateChanging = map[string]bool{
	http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true,
}

// guard wraps next with the rules above, telling refused of each request
// it refuses. allowed holds host names in lower case, without a trailing
// dot.
func guard(allowed map[string]bool, refused func(r *http.Request, cause, why string), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			// net/http reads what the handler left of a body, up to
			// 256 KiB, for up to the read timeout, before it sends the
			// answer or closes: a peer that trickles a body, token or
			// not, held its 401 back and the slot for 30 s. The answer
			// goes out now and the connection closes after it; calls
			// with a body are an operator's commands, rare.
			w.Header().Set("Connection", "close")
			defer dropBody(w)
		}
		if msg := checkHost(r.Host, allowed); msg != "" && !openPaths[r.URL.Path] {
			refused(r, causeHost, msg)
			writeJSON(w, http.StatusForbidden, ErrorResponse{Error: msg})
			return
		}
		if stateChanging[r.Method] || !openPaths[r.URL.Path] {
			if msg := checkOrigin(r); msg != "" {
				refused(r, causeOrigin, msg)
				writeJSON(w, http.StatusForbidden, ErrorResponse{Error: msg})
				return
			}
		}
		if stateChanging[r.Method] && fromBrowser(r) {
			if msg := checkContentType(r); msg != "" {
				refused(r, causeContentType, msg)
				writeJSON(w, http.StatusUnsupportedMediaType, ErrorResponse{Error: msg})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostOnly strips the port and IPv6 brackets from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// normalHost lower-cases a host name and drops a trailing dot, so that
// "LocalHost." and "localhost" are one name.
func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// checkHost says why a Host is refused, or "" when it passes. An empty
// Host (HTTP/1.0) passes: no browser sends one.
func checkHost(hostport string, allowed map[string]bool) string {
	h := hostOnly(hostport)
	if h == "" || net.ParseIP(h) != nil {
		return ""
	}
	n := normalHost(h)
	if n == "localhost" || allowed[n] {
		return ""
	}
	return fmt.Sprintf("host %q is not allowed: the admin API answers to IP addresses, localhost and the names in "+
		"--admin-allowed-hosts (CLISER_ADMIN_ALLOWED_HOSTS); a name outside it may be DNS rebinding", h)
}

// checkOrigin says why a request's Origin is refused, or "" when it has
// none or it is the API's own.
func checkOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// A browser that sends no Origin (a GET, an <img>, a <script>)
		// may still say where the request came from.
		site := r.Header.Get("Sec-Fetch-Site")
		followed := !stateChanging[r.Method] && r.Header.Get("Sec-Fetch-Mode") == "navigate"
		if (site == "cross-site" || site == "same-site") && !followed {
			return fmt.Sprintf("%s %s is refused: Sec-Fetch-Site says %s (a page on another site)", r.Method, r.URL.Path, site)
		}
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !sameHostPort(u, r.Host) {
		return fmt.Sprintf("%s from origin %q is refused: the admin API is called only from its own origin (host %q) "+
			"or by tools that send no Origin (curl, cliser clients)", r.Method, origin, r.Host)
	}
	return ""
}

// sameHostPort compares an origin with the request's Host, the scheme's
// default port filled in on the origin's side. A Host without a port went
// to the default port of the scheme the browser used, which the server
// does not see: 80 or 443. It took the origin's port, whatever it was, so
// a page at https://host:8443 passed for https://host.
func sameHostPort(origin *url.URL, host string) bool {
	port := origin.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[origin.Scheme]
	}
	h, p, err := net.SplitHostPort(host)
	if err != nil { // no port in Host
		return normalHost(origin.Hostname()) == normalHost(hostOnly(host)) && (port == "80" || port == "443")
	}
	return normalHost(origin.Hostname()) == normalHost(h) && port == p
}

// browserHeaders are what a browser adds to the requests of a page and no
// HTTP tool sends unless told.
var browserHeaders = []string{"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Referer"}

// fromBrowser reports whether r bears any of browserHeaders.
func fromBrowser(r *http.Request) bool {
	for _, h := range browserHeaders {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// checkContentType says why a browser's state-changing request's body is
// refused, or "" when it has none, or says it is JSON.
func checkContentType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 {
			return ""
		}
		return fmt.Sprintf("%s from a browser with a body must say Content-Type: application/json", r.Method)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Sprintf("Content-Type %q is refused from a browser: the admin API takes JSON only; send Content-Type: "+
			"application/json with a JSON body, or no body and no Content-Type", ct)
	}
	return ""
}

// dropBody ends the reads of the request's body once the handler is done:
// what is left is not waited for.
func dropBody(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// repeatable are the query parameters that may be given more than once
// (?type=a&type=b is ?type=a,b); any other read one of its values and
// dropped the rest without a word (?limit=2&limit=3 answered 2).
var repeatable = map[string]bool{"type": true}

// emptyIsAValue are the parameters whose empty value means what it says:
// every ID starts with the empty prefix, and the empty cursor is the
// first page (a last page's next).
var emptyIsAValue = map[string]bool{"prefix": true, "cursor": true}

// refuseBadQuery answers 400 to a query checkQuery finds wrong.
// r.URL.Query() drops what it can not parse: a cursor or filter lost that
// way would answer as if it had not been asked. It runs after the token
// check: a caller without the token got the endpoint's parameters named
// in a 400 for a query, and a 401 without one.
func refuseBadQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := checkQuery(r); msg != "" {
			writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: msg})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkQuery says what is wrong with r's query: one that does not parse,
// or a parameter given twice that is read once; and under /v1/ one its
// endpoint does not read (endpointParams; a path that names no endpoint
// is left to its 404 or 405), or one given empty where empty is no value
// (?limit= was the default page, as if not asked).
func checkQuery(r *http.Request) string {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Sprintf("query: %v; percent-encode the values", err)
	}
	api := strings.HasPrefix(r.URL.Path, "/v1/")
	var pattern string
	var params []string
	known := false
	if api && len(q) > 0 {
		pattern, params, known = paramsOf(r)
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := q[k]
		switch {
		case len(vs) > 1 && !repeatable[k]:
			return fmt.Sprintf("query: %q is given %d times; give it once", k, len(vs))
		case known && !slices.Contains(params, k):
			reads := "no parameters"
			if len(params) > 0 {
				reads = strings.Join(params, ", ")
			}
			msg := fmt.Sprintf("query: unknown parameter %q (%s reads %s)", k, pattern, reads)
			if secretLike(k) { // only where it is the likely mistake (cluster audit)
				msg += "; the token goes in the Authorization header"
			}
			return msg
		case api && slices.Contains(vs, "") && !emptyIsAValue[k]:
			return fmt.Sprintf("query: %q is empty: give it a value, or leave it out", k)
		}
	}
	return ""
}

// secretLike reports whether a query parameter's name reads like a
// credential put in the URL (?token=, ?access_token=, ?auth=, ?bearer=,
// ?api_key=).
func secretLike(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"token", "auth", "bearer", "key"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
