package main

import (
	"errors"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cliser/cliser/internal/natsurl"
	"github.com/cliser/cliser/internal/testkit"
)

// FuzzListenAddr: --listen, --admin-listen and the agent's --server. What
// is accepted is a HOST:PORT whose port Go's net package takes as the
// same number, with no service name to look up (0..65535 to listen on,
// 1..65535 to dial), or off where off is allowed; anything else is a
// configError naming the flag. Seeded with the tests' addresses.
func FuzzListenAddr(f *testing.F) {
	for _, s := range []string{":7070", "127.0.0.1:0", "127.0.0.1:7071", "[::1]:080", "h:65535", "off", "",
		":+80", ":-0", "h: 80", "h:65536", "h:", "h:http", "a:b:80", "cliser.example.net:7070", "h:0"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, addr string, offOK bool) {
		err := checkListenAddr("--admin-listen", addr, "7071", offOK)
		switch {
		case offOK && addr == "off":
			if err != nil {
				t.Fatalf("off refused: %v", err)
			}
		case err == nil:
			port := mustResolvePort(t, addr)
			if port < 0 || port > 65535 {
				t.Fatalf("listen %q accepted, port %d", addr, port)
			}
		default:
			mustConfigError(t, err, "--admin-listen ")
		}

		err = checkServerAddr(addr)
		if err != nil {
			mustConfigError(t, err, "--server ")
			if _, port, serr := net.SplitHostPort(addr); serr == nil {
				if n, perr := strconv.Atoi(port); perr == nil && n >= 1 && n <= 65535 && strings.Trim(port, "0123456789") == "" {
					t.Fatalf("--server %q refused: %v", addr, err)
				}
			}
			return
		}
		if port := mustResolvePort(t, addr); port < 1 || port > 65535 {
			t.Fatalf("--server %q accepted, port %d", addr, port)
		}
	})
}

// mustResolvePort is addr's port as Go's net package reads it for a
// listen or a dial (the host replaced: resolving it is the run time's
// business).
func mustResolvePort(t *testing.T, addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q accepted, no HOST:PORT: %v", addr, err)
	}
	if strings.Trim(port, "0123456789") != "" {
		t.Fatalf("%q accepted, its port %q is a service name to look up", addr, port)
	}
	a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatalf("%q accepted, net refuses its port: %v", addr, err)
	}
	if n, _ := strconv.Atoi(port); n != a.Port {
		t.Fatalf("%q accepted, net reads port %d", addr, a.Port)
	}
	return a.Port
}

func mustConfigError(t *testing.T, err error, prefix string) {
	var ce *configError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("refusal %q is no configError starting %q", err, prefix)
	}
}

// clusterPrefix finds the fixed words that number a refused entry.
var clusterPrefix = regexp.MustCompile(`^--cluster(: URL \d+ )?|: URL \d+ `)

// FuzzClusterURLs: a --cluster list with a password (or a token, when user
// is "") in one entry, beside others, typed as the operator may, "," and
// all. Accepted, every entry is a nats, tls, ws or wss URL (or HOST:PORT)
// with a host and a port 1..65535 or none; refused, the configError shows
// neither the secret nor a piece of it cut at a ",", nor any secret of the
// other entries. Seeded with TestCheckNATSURLs' lists.
func FuzzClusterURLs(f *testing.F) {
	for _, seed := range []struct {
		scheme, user, secret, host, other string
		encode                            bool
	}{
		{"nats://", "user", "pass", "nats.example:4222", "nats://a:4222", false},
		{"http://", "u", "hunter2", "nats.example:4222", "", false},
		{"", "", "hunter2", "nats.example:4222", "nats://", false},
		{"nats://", "u", "hunter2", "nats.example:port", "tls://nats.example", false},
		{"nats://", "u", "hunter2#x", "nats.example:4222", "ws://nats.example:8080", false},
		{"nats://", "u", "hun/ter2", "nats.example:4222", "127.0.0.1:4222", true},
		{"", "", "hunter2tok#", "nats.example:4222", "nats://a:99999", false},
		{"nats://", "u", "hun,ter2", "n1:4222", "nats://a:0", false},
		{"nats://", "u", "ab cd,hunter2", "n1:4222", "nats://%zz", false},
		{"nats://", "u", "hunter2", "a:65536", "s3cr3t-token@n2:4222", false},
		{"nats://", "u", "hun,ter", "41:n222", ":0n\x86ts://a:0", false},
	} {
		f.Add(seed.scheme, seed.user, seed.secret, seed.host, seed.other, seed.encode)
	}
	f.Fuzz(func(t *testing.T, scheme, user, secret, host, other string, encode bool) {
		info := testkit.NATSUserInfo(user, secret, encode)
		list := scheme + info + "@" + host
		if other != "" {
			list += "," + other
		}
		err := checkNATSURLs(list)
		if err == nil {
			for _, e := range strings.Split(list, ",") {
				e = strings.TrimSpace(e)
				if !strings.Contains(e, "://") {
					e = "nats://" + e
				}
				u, perr := url.Parse(e)
				if perr != nil || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) || u.Hostname() == "" {
					t.Fatalf("--cluster %q accepted: entry %q is no NATS URL with a host (%v)", list, e, perr)
				}
				if p := u.Port(); p != "" {
					if n, perr := strconv.Atoi(p); perr != nil || n < 1 || n > 65535 {
						t.Fatalf("--cluster %q accepted: entry %q has port %q", list, e, p)
					}
				}
			}
			return
		}
		mustConfigError(t, err, "--cluster")
		msg := err.Error()
		if !strings.HasSuffix(msg, ": "+natsURLsHint) {
			t.Fatalf("--cluster %q refused without the hint at the end: %s", list, msg)
		}
		// What the message may show anyway: the non-secret parts, and the
		// fixed text around them.
		shown := scheme + user + host + other + natsurl.Strip(other) + "nats://[redacted](unparsable URL)" + natsURLsHint +
			natsurl.ErrUserInfo.Error() + `is no NATS URL (not shown: it may hold a piece of a password or token cut at a ",", which must be percent-encoded as %2C)` +
			"is not a NATS URL is a URL without a host has port , which is no port (1 to 65535)" +
			"(the list is not shown: it holds a user or a token)" +
			strings.Join(clusterPrefix.FindAllString(msg, -1), "") // "--cluster: URL 1 " ("ter" of "hun,ter" is in it)
		secrets := append(natsurl.Secrets(list), secret)
		if encode && user != "" { // the secret as info spells it
			_, spelt, _ := strings.Cut(info, ":")
			secrets = append(secrets, spelt)
		} else if encode {
			secrets = append(secrets, info)
		}
		for _, s := range secrets {
			pieces := append(strings.Split(s, ","), s)
			for _, p := range pieces {
				p = strings.TrimSpace(p)
				if len(p) >= 3 && !strings.Contains(shown, p) && strings.Contains(msg, p) {
					t.Fatalf("--cluster %q refused with %q, which shows %q of a secret", list, msg, p)
				}
			}
		}
	})
}
