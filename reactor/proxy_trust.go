package reactor

import (
	"fmt"
	"strconv"

	"github.com/panjf2000/gnet/v2"
	"github.com/pires/go-proxyproto"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// Trusted PROXY senders. A PROXY header is only as trustworthy as the
// address it came from: anyone who reaches the port directly could claim
// any client address (evading IP bans and per-IP limits) or any
// certificate name. With --proxy-trusted, go-proxyproto's connection
// policy decides, from the socket's address, whether a connection may
// speak at all. gnet gives no net.Conn, so the reactor asks the policy
// itself, once, on accept.

// ProxyRefusal says why a connection's PROXY header (or its lack) was
// refused (protocol.ProxyRefusal).
type ProxyRefusal = protocol.ProxyRefusal

// The causes of a ProxyRefusal.
const (
	ProxyUntrusted = protocol.ProxyUntrusted
	ProxyBadHeader = protocol.ProxyBadHeader
)

// ProxyObserver is an Observer that also counts refused PROXY senders. An
// Observer without it is simply not told. Same rules as Observer: safe for
// concurrent use, never blocks.
type ProxyObserver interface {
	ProxyRefused(r ProxyRefusal)
}

// WithProxyTrusted lists the addresses (IPs or CIDRs) allowed to send a
// PROXY header; it needs WithProxyProtocol. A connection from elsewhere is
// refused on accept with "190 protocol error": it may not send a header, and
// it cannot do without one. Empty: every address may (the risky default).
func WithProxyTrusted(cidrs []string) Option {
	return func(o *options) { o.proxyTrusted = cidrs }
}

// buildProxyPolicy turns --proxy-trusted into go-proxyproto's policy:
// REQUIRE for a trusted sender, REJECT (with an error) for any other.
func (o *options) buildProxyPolicy() error {
	if len(o.proxyTrusted) == 0 {
		return nil
	}
	if !o.proxyProtocol {
		return fmt.Errorf("%w: trusted PROXY senders need the PROXY protocol on", ErrBadOption)
	}
	p, err := proxyproto.TrustProxyHeaderFromRanges(o.proxyTrusted)
	if err != nil {
		return fmt.Errorf("%w: trusted PROXY senders: %w", ErrBadOption, err)
	}
	o.proxyPolicy = p
	return nil
}

// proxyTrusted asks the policy whether c may send the header cliser
// requires. No policy: anyone may.
func (srv *Server) proxyTrusted(c gnet.Conn) bool {
	if srv.opts.proxyPolicy == nil {
		return true
	}
	p, err := srv.opts.proxyPolicy(proxyproto.ConnPolicyOptions{Upstream: c.RemoteAddr(), Downstream: c.LocalAddr()})
	return err == nil && p == proxyproto.REQUIRE
}

// refuseUntrusted closes a connection from outside --proxy-trusted on
// accept, before it may send anything. Its line names the sender as cip
// and cport, as every other line about a connection does: under
// "remote" (ip:port) a search of the log by cip missed it.
func (h *handler) refuseUntrusted(cip *peer, port uint16) ([]byte, gnet.Action) {
	h.proxyRefused(ProxyUntrusted)
	if ce := h.refusals.Check(zap.InfoLevel, "connection refused: not a trusted PROXY sender (--proxy-trusted)"); ce != nil {
		ce.Write(zap.String("cip", cip.ip), zap.String("cport", strconv.Itoa(int(port))))
	}
	return h.reject(protocol.ReasonProtocolError)
}

func (srv *Server) proxyRefused(r ProxyRefusal) {
	if ob, ok := srv.opts.observer.(ProxyObserver); ok {
		ob.ProxyRefused(r)
	}
}
