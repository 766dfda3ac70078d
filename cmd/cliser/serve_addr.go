package main

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/cliser/cliser/internal/natsurl"
)

// checkListenAddr says what to fix in a listen address, as a configuration
// mistake (exit 2) before anything is opened; offOK allows "off". The
// example uses the flag's own default port: the other listener's would
// only fail next as a port in use. An address the system refuses later
// (in use, no such host) is a runtime failure instead.
func checkListenAddr(flag, addr, port string, offOK bool) error {
	hint := "HOST:PORT, e.g. 127.0.0.1:" + port + " or :" + port
	if offOK {
		hint += ", or off to turn it off"
	}
	if addr == "" {
		return configErrorf("%s is empty: give %s", flag, hint)
	}
	if offOK && addr == "off" {
		return nil
	}
	_, given, err := net.SplitHostPort(addr)
	if err != nil {
		return configErrorf("%s %q is not an address: give %s", flag, addr, hint)
	}
	if n, ok := portNumber(given); !ok || n > 65535 {
		return configErrorf("%s %q: the port must be a number 0..65535 (0: any free port)", flag, addr)
	}
	return nil
}

// checkListenersApart refuses --listen and --admin-listen on one port
// where their hosts meet: the second listener would fail to bind, an exit
// 1 that named neither flag. Ports compare as numbers (:07072 is :7072);
// port 0 is any free port, never the same.
func checkListenersApart(listen, admin string) error {
	if admin == "off" {
		return nil
	}
	lh, lp, err1 := net.SplitHostPort(listen)
	ah, ap, err2 := net.SplitHostPort(admin)
	ln, ok1 := portNumber(lp)
	an, ok2 := portNumber(ap)
	if err1 != nil || err2 != nil || !ok1 || !ok2 || ln != an || ln == 0 || !hostsMeet(lh, ah) {
		return nil
	}
	return configErrorf("--listen %q and --admin-listen %q are both port %d: give the admin API a port of its own (the default is 127.0.0.1:7071)",
		listen, admin, ln)
}

// hostsMeet reports whether the protocol's listener on host listen and
// the admin API's on host admin would claim one address: the same host
// (names in any case, an IPv4 address and its IPv4-mapped IPv6 form,
// localhost and a loopback address), or a wildcard ("", "::" or
// "0.0.0.0") and any host. The one pair apart: the admin API's 0.0.0.0
// and the protocol's IPv6 address, which gnet binds IPv6 only; Go's
// listener on an IPv6 address is dual-stack, so Linux refuses the
// protocol's 0.0.0.0 beside it. Other names are not looked up; their bind
// says what it meets. The forms missed bound the admin API first and
// failed the protocol's bind, exit 1, "address already in use" (found by
// the interface audits).
func hostsMeet(listen, admin string) bool {
	if strings.EqualFold(listen, admin) {
		return true
	}
	lip, aip := net.ParseIP(listen), net.ParseIP(admin)
	switch {
	case lip != nil && aip != nil && lip.Equal(aip), isWildcard(listen, lip):
		return true
	case isWildcard(admin, aip):
		return aip == nil || aip.To4() == nil || lip == nil || lip.To4() != nil
	}
	return isLocalhostOf(listen, aip) || isLocalhostOf(admin, lip)
}

func isWildcard(host string, ip net.IP) bool { return host == "" || (ip != nil && ip.IsUnspecified()) }

// isLocalhostOf: host is localhost, which resolves to the loopback address ip.
func isLocalhostOf(host string, ip net.IP) bool {
	return strings.EqualFold(host, "localhost") && ip != nil && ip.IsLoopback()
}

// checkServerAddr says what to fix in the agent's --server: an address
// without a port, or with one out of range, would only fail each dial, so
// the agent would retry it for ever.
func checkServerAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return configErrorf("--server %q is not HOST:PORT (e.g. cliser.example.net:7070)", addr)
	}
	if n, ok := portNumber(port); !ok || n < 1 || n > 65535 {
		return configErrorf("--server %q: the port must be a number 1..65535", addr)
	}
	return nil
}

// portNumber is p as a port number when p is only digits: Go's net
// package takes anything else (+80, -0, " 80") for a service name to look
// up, and would refuse it at the listen or dial.
func portNumber(p string) (int, bool) {
	if p == "" || strings.Trim(p, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(p)
	return n, err == nil
}

// checkNATSURLs says what to fix in --cluster: a comma-separated list of
// NATS server URLs (nats://, tls://, ws://, wss://, or HOST:PORT, which
// nats.go reads as nats://). Another scheme (http://, a typo) would only
// fail at the dial, as a runtime error, after a DNS lookup.
//
// A refusal never shows a password or a token, nor a piece of one: one
// with an unencoded "," is cut there, as nats.go cuts it, and its front
// reads as URLs of its own (nats://u:pa,ss@h: host u, port "pa"; a token
// ab,cd@h: host ab). So with user info in the list, the list is not shown
// (the entry's number says which), and an entry before one with user info
// is refused without its reason.
// natsURLsHint ends every refusal of --cluster: what to give instead.
const natsURLsHint = "give nats://HOST:PORT[,nats://HOST:PORT...] (tls://, ws:// and wss:// too)"

func checkNATSURLs(list string) error {
	hint := natsURLsHint
	entries := strings.Split(list, ",")
	for i, u := range entries {
		parsed, err := natsurl.Parse(u)
		var why string
		switch {
		case err != nil:
			why = fmt.Sprintf("does not parse (%v)", err)
		case !slices.Contains([]string{"nats", "tls", "ws", "wss"}, parsed.Scheme):
			why = parsed.Scheme + ":// is not a NATS URL"
		case parsed.Hostname() == "":
			why = "is a URL without a host"
		case !validPort(parsed.Port()):
			why = fmt.Sprintf("has port %q, which is no port (1 to 65535)", parsed.Port())
		default:
			continue
		}
		switch {
		case strings.Contains(strings.Join(entries[i+1:], ","), "@"):
			return configErrorf("--cluster: URL %d is no NATS URL (not shown: it may hold a piece of a password or token "+
				"cut at a \",\", which must be percent-encoded as %%2C): %s", i+1, hint)
		case strings.Contains(list, "@"):
			return configErrorf("--cluster: URL %d %s (the list is not shown: it holds a user or a token): %s", i+1, why, hint)
		}
		return configErrorf("--cluster %q: URL %d %s: %s", natsurl.Strip(list), i+1, why, hint)
	}
	return nil
}

// validPort: p is empty (nats.go's default, 4222) or a port from 1 to
// 65535; nats.go would dial another and wait for an answer forever.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, ok := portNumber(p)
	return ok && n >= 1 && n <= 65535
}
