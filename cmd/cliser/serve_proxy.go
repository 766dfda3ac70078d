package main

import (
	"net/netip"
	"strings"

	"github.com/pires/go-proxyproto"
	"go.uber.org/zap"
)

// The PROXY header's trust settings: --proxy-trusted and --require-cert-cn
// (docs/tls.md says why and shows the HAProxy side).

// validateProxy checks the trust settings; a mistake exits 2.
func (cfg *serveConfig) validateProxy() error {
	cfg.proxyTrusted = trimEmpty(cfg.proxyTrusted)
	if len(cfg.proxyTrusted) > 0 {
		if !cfg.proxyProtocol {
			return configErrorf("--proxy-trusted lists who may send a PROXY header: it needs --proxy-protocol")
		}
		if _, err := proxyproto.TrustProxyHeaderFromRanges(cfg.proxyTrusted); err != nil {
			return configErrorf("--proxy-trusted wants IP addresses or CIDRs like 10.0.0.5,10.1.0.0/16: %v", err)
		}
	}
	if cfg.requireCertCN && len(cfg.proxyTrusted) == 0 {
		return configErrorf("--require-cert-cn believes the certificate name in the PROXY header: " +
			"set --proxy-protocol and --proxy-trusted to the TLS terminator's addresses, or anyone could claim any name")
	}
	return nil
}

// proxyRisk is what trusting every sender of a PROXY header risks.
const proxyRisk = "anyone who reaches the listener directly " +
	"can send a PROXY header claiming any client address (evading IP bans and per-IP limits), " +
	"and connections that send no header yet are counted by no address, so one host can hold " +
	"every free connection for the handshake timeout (clients from elsewhere then get 190 server full)"

// warnProxy warns of plain --proxy-protocol without --proxy-trusted, and
// of a --proxy-trusted that trusts every address (a /0, which started
// without a word: audit), naming the risk.
func (cfg *serveConfig) warnProxy(log *zap.Logger) {
	if !cfg.proxyProtocol {
		return
	}
	if len(cfg.proxyTrusted) == 0 {
		log.Warn("--proxy-protocol without --proxy-trusted: " + proxyRisk +
			"; set --proxy-trusted to the addresses of your TLS terminators")
		return
	}
	if all := trustsEveryAddress(cfg.proxyTrusted); all != "" {
		log.Warn("--proxy-trusted "+all+" trusts every address: "+proxyRisk+
			"; list only the addresses of your TLS terminators", zap.Strings("proxy_trusted", cfg.proxyTrusted))
	}
}

// trustsEveryAddress names the entries of trusted that together cover
// every IPv4 or every IPv6 address, or is "": a /0 (0.0.0.0/0, ::/0,
// 10.0.0.0/0), and as well ::ffff:0.0.0.0/96 or two /1 halves, which
// trusted every IPv4 sender without a word (late audit).
func trustsEveryAddress(trusted []string) string {
	var v4, v6 []netip.Prefix
	var v4s, v6s []string
	for _, e := range trusted {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			continue // a plain address trusts one sender
		}
		p = p.Masked()
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Addr().Is4() {
			v4, v4s = append(v4, p), append(v4s, e)
		} else {
			v6, v6s = append(v6, p), append(v6s, e)
		}
	}
	switch {
	case covers(v4, netip.PrefixFrom(netip.IPv4Unspecified(), 0)):
		return strings.Join(v4s, ",")
	case covers(v6, netip.PrefixFrom(netip.IPv6Unspecified(), 0)):
		return strings.Join(v6s, ",")
	}
	return ""
}

// covers reports whether the prefixes ps together hold every address of
// q: one holds it whole, or each half of it is covered.
func covers(ps []netip.Prefix, q netip.Prefix) bool {
	overlaps := false
	for _, p := range ps {
		if p.Bits() <= q.Bits() && p.Contains(q.Addr()) {
			return true
		}
		overlaps = overlaps || p.Overlaps(q)
	}
	if !overlaps || q.Bits() == q.Addr().BitLen() {
		return false
	}
	lo, hi := halves(q)
	return covers(ps, lo) && covers(ps, hi)
}

// halves splits q into its two prefixes one bit longer.
func halves(q netip.Prefix) (lo, hi netip.Prefix) {
	b := q.Addr().AsSlice()
	lo = netip.PrefixFrom(q.Addr(), q.Bits()+1)
	b[q.Bits()/8] |= 0x80 >> (q.Bits() % 8)
	a, _ := netip.AddrFromSlice(b)
	return lo, netip.PrefixFrom(a, q.Bits()+1)
}

func trimEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
