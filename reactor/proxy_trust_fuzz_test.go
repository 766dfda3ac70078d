package reactor

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/pires/go-proxyproto"
)

// FuzzProxyTrusted: a --proxy-trusted list (comma-separated, as the flag
// gives it) and a connecting address. A refused list is ErrBadOption. An
// accepted one trusts each IP it names and both ends of each CIDR, and
// trusts the connecting address exactly when netip's reading of some
// entry contains it (an IPv4-mapped IPv6 entry standing for its IPv4
// address or range): a PROXY header from elsewhere is never believed.
// Seeded with the reactor, cmd and admin tests' lists.
func FuzzProxyTrusted(f *testing.F) {
	for _, s := range []string{"127.0.0.0/8", "127.0.0.1", "10.0.0.0/8,192.0.2.7", "haproxy.local", "10.0.0.0/99",
		"192.0.2.0/24", "10.9.0.0/16", "10.0.0.0/33", "::ffff:10.0.0.0/104", "::/0", "0.0.0.0/0", "fe80::1%eth0",
		"10.0.0.5/", "/8", "2001:db8::/32, 10.0.0.1", "10.0.0.5/08", "::ffff:192.0.2.7"} {
		f.Add(s, []byte(net.ParseIP("10.1.2.3")))
		f.Add(s, []byte(net.ParseIP("2001:db8::1")))
	}
	f.Fuzz(func(t *testing.T, list string, ip []byte) {
		var entries []string
		for _, e := range strings.Split(list, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
		if len(entries) == 0 || (len(ip) != net.IPv4len && len(ip) != net.IPv6len) {
			return
		}
		o := options{proxyProtocol: true, proxyTrusted: entries}
		if err := o.buildProxyPolicy(); err != nil {
			if !errors.Is(err, ErrBadOption) {
				t.Fatalf("refusal %v is no ErrBadOption", err)
			}
			return
		}
		trusted := func(ip net.IP) bool {
			p, err := o.proxyPolicy(proxyproto.ConnPolicyOptions{Upstream: &net.TCPAddr{IP: ip, Port: 40000}})
			if (p == proxyproto.REQUIRE) != (err == nil) {
				t.Fatalf("policy for %s: %v with error %v", ip, p, err)
			}
			return p == proxyproto.REQUIRE
		}
		var prefixes []netip.Prefix
		for _, e := range entries {
			if !strings.Contains(e, "/") {
				a := net.ParseIP(e)
				if !trusted(a) {
					t.Fatalf("%q accepted, %s not trusted", list, a)
				}
				na := netip.MustParseAddr(a.String())
				prefixes = append(prefixes, netip.PrefixFrom(na, na.BitLen()))
				continue
			}
			_, n, _ := net.ParseCIDR(e)
			last := make(net.IP, len(n.IP))
			for i := range n.IP {
				last[i] = n.IP[i] | ^n.Mask[i]
			}
			if !trusted(n.IP) || !trusted(last) {
				t.Fatalf("%q accepted, %s..%s not trusted", list, n.IP, last)
			}
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return // no netip reading to compare with (a zero-padded length)
			}
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			prefixes = append(prefixes, p.Masked())
		}
		addr, _ := netip.AddrFromSlice(ip)
		addr = addr.Unmap()
		want := false
		for _, p := range prefixes {
			want = want || p.Contains(addr)
		}
		if got := trusted(net.IP(ip)); got != want {
			t.Fatalf("%q: %s trusted %v, want %v", list, net.IP(ip), got, want)
		}
	})
}
