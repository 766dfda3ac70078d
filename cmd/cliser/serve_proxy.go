package main

import (
	"net"
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

// trustsEveryAddress is the first entry of trusted with a prefix of length
// 0 (0.0.0.0/0, ::/0, 10.0.0.0/0: every IPv4 or every IPv6 address), or "".
func trustsEveryAddress(trusted []string) string {
	for _, e := range trusted {
		if _, n, err := net.ParseCIDR(e); err == nil {
			if ones, _ := n.Mask.Size(); ones == 0 {
				return e
			}
		}
	}
	return ""
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
