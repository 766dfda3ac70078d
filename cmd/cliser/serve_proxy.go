package main

import (
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

// warnProxy warns of plain --proxy-protocol without --proxy-trusted,
// naming the risk.
func (cfg *serveConfig) warnProxy(log *zap.Logger) {
	if cfg.proxyProtocol && len(cfg.proxyTrusted) == 0 {
		log.Warn("--proxy-protocol without --proxy-trusted: anyone who reaches the listener directly " +
			"can send a PROXY header claiming any client address (evading IP bans and per-IP limits), " +
			"and connections that send no header yet are counted by no address, so one host can hold " +
			"every free connection for the handshake timeout (clients from elsewhere then get 190 server full); " +
			"set --proxy-trusted to the addresses of your TLS terminators")
	}
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
