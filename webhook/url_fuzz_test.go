package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webhookURLSeeds are the URLs of the tests: TestNewRefusesBadConfig's
// refused ones, the receivers', and the near misses this target found.
var webhookURLSeeds = []string{
	"", "ftp://x/", "127.0.0.1:8080/hook", "http:///nohost", "::",
	"http://127.0.0.1:1/hook", "http://127.0.0.1:1/other", "https://user:hunter2@example.net/hook?token=s3cret",
	"https://[::1]:8443/x", "http://h:/", "http://h:0/", "http://h:65536/", "http://:80/",
	"http://[fe80::1%eth0]:9/h", "http://x/%zz", "http://a b/", "http://x/\x1b",
}

// FuzzWebhookURL: --webhook-url, checked at start. What is accepted is
// an http or https URL with a host name and a port to dial (none, or 1 to
// 65535), whose request head renders (the direct connection counts on
// it); anything else is ErrBadURL, a fixed text that never shows the URL
// (it may hold a token).
func FuzzWebhookURL(f *testing.F) {
	for _, s := range webhookURLSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckURL(raw)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("%q refused with %v, not ErrBadURL", raw, err)
			}
			if msg := strings.TrimPrefix(err.Error(), ErrBadURL.Error()); len(raw) >= 4 && strings.Contains(msg, raw) {
				t.Fatalf("%q refused with a message that shows it: %v", raw, err)
			}
			return
		}
		u, err := parseURL(raw)
		if err != nil {
			t.Fatalf("%q: CheckURL and parseURL disagree: %v", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("%q accepted: scheme %q, host name %q", raw, u.Scheme, u.Hostname())
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strings.Trim(p, "0123456789") != "" {
				t.Fatalf("%q accepted: port %q is none to dial", raw, p)
			}
		}
		if newDirect(u, time.Second) == nil {
			// nil is also the answer to a proxy set in the environment.
			if p, perr := http.ProxyFromEnvironment(&http.Request{URL: u}); perr == nil && p == nil {
				t.Fatalf("%q accepted: no request head for it", raw)
			}
		}
	})
}
