package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls the admin API over HTTP: the operator CLI (`cliser clients`,
// `cliser health`) and scripts in Go use it. A Client is safe for
// concurrent use.
type Client struct {
	base  string // scheme://host:port, no trailing slash
	shown string // base with its password, if any, as xxxxx: for messages
	token string
	http  *http.Client
	// clear: the token would cross a network unencrypted (clearToken).
	clear bool
}

// NewClient makes a client of the API at base ("http://127.0.0.1:7071";
// a bare "host:port" gets http://). token, when not empty, is sent as a
// bearer token.
func NewClient(base, token string, timeout time.Duration) (*Client, error) {
	typed := typedRedacted(base)
	if strings.TrimSpace(base) == "" {
		// It said `admin address "http:"`, a value nobody typed (audit).
		return nil, fmt.Errorf("admin address %q is empty: want http://HOST:PORT or HOST:PORT", base)
	}
	if !strings.Contains(base, "://") {
		// "htp:/x", "http:x", "localhost:": a scheme without its "//", or
		// a port left out. Read as HOST:PORT with http:// before it, it
		// went to the host "htp" on port 80 and met no server (exit 1).
		authority, _, _ := strings.Cut(base, "/")
		if scheme, rest, ok := strings.Cut(base, ":"); ok && isScheme(scheme) && !startsWithPort(rest) &&
			!strings.Contains(authority, "@") { // USER:PASSWORD@HOST:PORT

			return nil, fmt.Errorf("admin address %q is not a URL cliser can use: want http://HOST:PORT, https://HOST:PORT or HOST:PORT", typed)
		}
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil {
		// Its error quotes the address, password and all: typed has none.
		return nil, fmt.Errorf("admin address %q: want http://HOST:PORT (%v)", typed, unwrapURLError(err))
	}
	shown := redacted(u)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("admin address %q: the scheme %s is not http or https: want http://HOST:PORT", typed, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("admin address %q has no host: want http://HOST:PORT", typed)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("admin address %q: port %s is not 1 to 65535", shown, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		// "127.0.0.1:", "http://host:": it dialled port 80 (or 443) and
		// said the API was not running, exit 1 (docs audit).
		return nil, fmt.Errorf("admin address %q: HOST: without its port: want http://HOST:PORT", shown)
	}
	// A query or a fragment would go into every request's URL, before its
	// path (http://h:7071?x=1/v1/clients): the dashboard's page answered.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// Not quoted: a query may hold a token.
		return nil, fmt.Errorf("admin address: give it without a query (?...) or fragment (#...): http://HOST:PORT, or a path prefix")
	}
	// A path is kept (an API behind a proxy's prefix), but one ending in
	// the API's own /v1 asked for /v1/v1/clients and met a 404 (audit).
	if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v1") {
		return nil, fmt.Errorf("admin address %q: give the server's address without /v1 (each request adds it)", shown)
	}
	return &Client{
		base:  strings.TrimSuffix(u.String(), "/"),
		shown: strings.TrimSuffix(shown, "/"),
		token: token,
		http:  &http.Client{Timeout: timeout, Transport: newTransport()},
		clear: token != "" && clearToken(u),
	}, nil
}

// isScheme says whether s can be a URL's scheme (RFC 3986: a letter,
// then letters, digits, + - .).
func isScheme(s string) bool {
	if s == "" || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// startsWithPort says whether rest, what follows HOST: in a bare
// HOST:PORT[/path], starts with a port: digits up to the path (or a query,
// refused later with its own message) or the end.
func startsWithPort(rest string) bool {
	port := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		port = rest[:i]
	}
	if port == "" {
		return false
	}
	for _, c := range []byte(port) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// typedRedacted is an address as it was typed, for a message, with what
// comes before its last "@" after the scheme (a user name, a password, a
// token) as xxxxx: it may be too malformed for url.Parse to say where the
// user info ends, and a password must not be quoted.
func typedRedacted(s string) string {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + len("://")
	}
	if at := strings.LastIndex(s[start:], "@"); at >= 0 {
		return s[:start] + "xxxxx" + s[start+at:]
	}
	return s
}

// redacted is u with its user info as xxxxx: a token is often given as
// the user name alone (https://TOKEN@host), which URL.Redacted keeps.
func redacted(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("xxxxx")
	return c.String()
}

// clearToken says whether a request to u would carry its bearer token
// unencrypted beyond this host: http:// to a host other than localhost or
// a loopback address. An empty or unspecified host (":7071",
// "0.0.0.0:7071", as a listen address is written) is dialled on this
// host, as defaultAdmin reads CLISER_ADMIN_LISTEN. A name that merely
// resolves to the loopback counts as remote: the CLI does not resolve it
// to tell.
func clearToken(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "" || strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback() && !ip.IsUnspecified()
}

// SendsTokenInClear reports whether this client sends its token over plain
// HTTP to another host, where anyone on the path may read it.
func (c *Client) SendsTokenInClear() bool { return c.clear }

// Base is the API's base URL as messages show it: a password in it (an API
// behind a proxy's basic auth) is xxxxx, as every error of the client
// shows it.
func (c *Client) Base() string { return c.shown }

// StatusError is an answer other than the one expected: the HTTP status
// and the API's {"error": "..."} text.
type StatusError struct {
	Status  int
	Message string
	// RetryAfter is the answer's Retry-After (a 429 of a locked-out
	// address, a 503 of a full server); 0 when it has none.
	RetryAfter time.Duration
	// Stale: the answer came from a cluster node that can not reach NATS
	// (HeaderStale): a 404 says what that node last saw.
	Stale   bool
	oldest  uint64  // a 410's oldest seq kept (events)
	newest  *uint64 // a 410's newest seq, for a cursor past it (events)
	foreign bool    // the body was not cliser's {"error": "..."}
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// Foreign reports whether the answer's body was not cliser's JSON error:
// a proxy's or another server's answer, whose status says nothing of the
// request (its 404 is no missing client, its 400 no bad flag).
func (e *StatusError) Foreign() bool { return e.foreign }

// UnreachableError: no HTTP answer at all (refused, timed out, DNS).
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	if errors.Is(e.Err, ErrNotHTTP) { // reached, but not an HTTP server
		return fmt.Sprintf("%s: %v", e.URL, e.Err)
	}
	return fmt.Sprintf("cannot reach %s: %v", e.URL, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// List fetches one page: status "connected", "disconnected", "all" or ""
// (all); prefix "" for every client ID; limit 0 for the server's default;
// cursor "" for the first page.
func (c *Client) List(ctx context.Context, status, prefix string, limit int, cursor string) (ListResponse, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	var out ListResponse
	h, err := c.exchange(ctx, http.MethodGet, "/v1/clients"+pageQuery(q, limit, cursor), nil, http.StatusOK, &out)
	out.Stale = isStale(h)
	return out, err
}

// pageQuery is the query of one page of a listing: q's parameters, then
// limit (0: the server's default) and cursor ("": the first page). It is
// "" when there are none.
func pageQuery(q url.Values, limit int, cursor string) string {
	if q == nil {
		q = url.Values{}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Get fetches one record.
func (c *Client) Get(ctx context.Context, cid string) (ClientRecord, error) {
	var out ClientRecord
	h, err := c.exchange(ctx, http.MethodGet, "/v1/clients/"+pathSegment(cid), nil, http.StatusOK, &out)
	out.Stale = isStale(h)
	return out, err
}

func isStale(h http.Header) bool { return h.Get(HeaderStale) == "true" }

// Shutdown asks cid to shut down, with an optional reason.
func (c *Client) Shutdown(ctx context.Context, cid, reason string) (CommandResponse, error) {
	var out CommandResponse
	err := c.do(ctx, http.MethodPost, "/v1/clients/"+pathSegment(cid)+"/shutdown",
		shutdownBody(reason), http.StatusAccepted, &out)
	return out, err
}

// Kick closes cid's connection with "190 kicked".
func (c *Client) Kick(ctx context.Context, cid string) (CommandResponse, error) {
	var out CommandResponse
	err := c.do(ctx, http.MethodPost, "/v1/clients/"+pathSegment(cid)+"/kick", nil, http.StatusAccepted, &out)
	return out, err
}

// ShutdownAll asks every connected client to shut down.
func (c *Client) ShutdownAll(ctx context.Context, reason string) (ShutdownAllResponse, error) {
	var out ShutdownAllResponse
	err := c.do(ctx, http.MethodPost, "/v1/shutdown", shutdownBody(reason), http.StatusAccepted, &out)
	return out, err
}

// Probe GETs /healthz or /readyz; nil means 200.
func (c *Client) Probe(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodGet, path, nil, http.StatusOK, nil)
}

func shutdownBody(reason string) []byte {
	if reason == "" {
		return nil
	}
	b, _ := json.Marshal(ShutdownRequest{Reason: reason})
	return b
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, want int, out any) error {
	_, err := c.exchange(ctx, method, path, body, want, out)
	return err
}

// exchange is do that also returns the answer's header (nil when there
// was no answer).
func (c *Client) exchange(ctx context.Context, method, path string, body []byte, want int, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &UnreachableError{URL: c.shown, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &UnreachableError{URL: c.shown, Err: notHTTP(err)}
	}
	if resp.StatusCode != want {
		return resp.Header, statusError(resp.StatusCode, resp.Header, raw)
	}
	if out == nil {
		return resp.Header, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		if looksLikeHTML(strings.TrimSpace(string(raw))) {
			return resp.Header, fmt.Errorf("%s %s: answer is an HTML page, not cliser's JSON: "+
				"is %s a proxy or another server rather than cliser's admin API?", method, path, c.shown)
		}
		return resp.Header, fmt.Errorf("%s %s: answer is not the expected JSON: %w", method, path, err)
	}
	return resp.Header, nil
}

// statusError reads an error answer's {"error": "..."} (and a 410's
// "oldest") and its Retry-After.
func statusError(status int, h http.Header, raw []byte) *StatusError {
	var e GoneResponse
	foreign := json.Unmarshal(raw, &e) != nil || e.Error == ""
	if foreign {
		e.Error = foreignBody(status, raw)
	}
	return &StatusError{Status: status, Message: e.Error, RetryAfter: retryAfter(h.Get("Retry-After"), time.Now()),
		Stale: isStale(h), oldest: e.Oldest, newest: e.Newest, foreign: foreign}
}

// maxRetryAfter bounds the Retry-After a client waits: the API's own are
// seconds to a minute, and a proxy's hours would stall a tail unsaid.
const maxRetryAfter = 10 * time.Minute

// retryAfter reads a Retry-After, whole seconds or an HTTP date; 0 when
// it is absent or neither.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(secs, uint64(maxRetryAfter/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// foreignBodyMax bounds how much of an answer that is not cliser's a
// message quotes.
const foreignBodyMax = 120

// foreignBody describes an error answer that is not cliser's JSON: a
// proxy's HTML page is named, not printed, and other text is cut to one
// short line so a terminal never fills with another server's page.
func foreignBody(status int, raw []byte) string {
	text := strings.TrimSpace(string(raw))
	switch {
	case text == "":
		return http.StatusText(status)
	case looksLikeHTML(text):
		return fmt.Sprintf("%s, with an HTML page instead of cliser's JSON error: "+
			"is this address a proxy or another server rather than cliser's admin API?", http.StatusText(status))
	}
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i] + " …"
	}
	if len(text) > foreignBodyMax {
		text = strings.ToValidUTF8(text[:foreignBodyMax], "") + " …"
	}
	if q := strconv.QuoteToGraphic(text); q[1:len(q)-1] != text {
		return q // control bytes shown escaped, not sent to the terminal
	}
	return text
}

func looksLikeHTML(text string) bool {
	head := strings.ToLower(text[:min(len(text), 64)])
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") ||
		strings.HasPrefix(head, "<head") || strings.HasPrefix(head, "<body") ||
		strings.HasPrefix(head, "<?xml") || strings.HasPrefix(head, "<!--")
}

// unwrapURLError drops net/http's "Get \"url\": " prefix, which the
// caller's message already says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return notHTTP(ue.Err)
	}
	return notHTTP(err)
}
