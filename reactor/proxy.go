package reactor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net"

	"github.com/pires/go-proxyproto"

	"github.com/cliser/cliser/protocol"
)

// PROXY protocol (v1 and v2) on the listener: TLS is terminated in front of
// cliser (HAProxy, stunnel), and the proxy's header carries the real
// client's address so that cip and cport stay the client's.
//
// gnet hands us bytes, not a net.Conn, so the reactor finds where the header
// ends (the only part done here) and go-proxyproto parses and validates it.

const (
	proxyV1Max    = 107 // the v1 spec's longest header, CRLF included
	proxyV2Fixed  = 16  // signature, version/command, family, length
	proxyV2MaxLen = 4096
)

var proxyV1Sig = []byte("PROXY ")

// Why a header was refused, as its "handshake failed" line says: each of
// the last four said errNotProxy of a header that did start with a PROXY
// signature, which sent an operator after the wrong fault (fuzz audit).
var (
	errNotProxy       = errors.New("reactor: connection did not start with a PROXY protocol header")
	errProxyV2TooLong = errors.New("reactor: PROXY v2 header longer than 4096 bytes after its 16-byte start")
	errProxyV1TooLong = errors.New("reactor: PROXY v1 header with no line end in 107 bytes, its longest")
	errProxyV1NoCR    = errors.New("reactor: PROXY v1 header line ends in LF without CR")
	errProxyDatagram  = errors.New("reactor: PROXY v2 header of a datagram (UDP) connection: cliser serves TCP")
)

// proxyHeaderLen reports how long the PROXY header at the start of buf is:
// n > 0 when it is complete, 0 when more bytes are needed, an error when buf
// cannot start with one.
func proxyHeaderLen(buf []byte) (int, error) {
	switch {
	case hasPrefixOrIsPrefix(buf, proxyproto.SIGV2):
		if len(buf) < proxyV2Fixed {
			return 0, nil
		}
		total := proxyV2Fixed + int(binary.BigEndian.Uint16(buf[14:16]))
		if total > proxyV2Fixed+proxyV2MaxLen {
			return 0, errProxyV2TooLong
		}
		if len(buf) < total {
			return 0, nil
		}
		return total, nil
	case hasPrefixOrIsPrefix(buf, proxyV1Sig):
		// A v1 header holds no LF but its closing CRLF's, so the first LF
		// ends it: one without its CR is a broken header now, not after
		// the handshake timeout.
		window := buf[:min(len(buf), proxyV1Max)]
		if i := bytes.IndexByte(window, '\n'); i >= 0 {
			if i == 0 || window[i-1] != '\r' {
				return 0, errProxyV1NoCR
			}
			return i + 1, nil
		}
		if len(buf) >= proxyV1Max {
			return 0, errProxyV1TooLong
		}
		return 0, nil
	}
	return 0, errNotProxy
}

// hasPrefixOrIsPrefix: buf starts with sig, or is a start of sig so far.
func hasPrefixOrIsPrefix(buf, sig []byte) bool {
	n := min(len(buf), len(sig))
	return bytes.Equal(buf[:n], sig[:n])
}

// proxied is what a PROXY header says.
type proxied struct {
	ip   net.IP
	port uint16
	ok   bool // false for a LOCAL header: the socket's address stands
	cert certInfo
}

// proxyV2Unspec is the start of a v2 PROXY (not LOCAL) header of family
// UNSPEC: the proxy forwards a connection it cannot describe.
var proxyV2Unspec = append(bytes.Clone(proxyproto.SIGV2), 0x21, 0x00)

// parseProxyHeader reads a complete header (as proxyHeaderLen measured it).
// A LOCAL header (the proxy's own health check), v1's "PROXY UNKNOWN" and
// v2's PROXY of family UNSPEC carry no client address and no certificate:
// the socket's address stands. proxy-protocol.txt has a receiver accept
// UNSPEC and ignore what follows; go-proxyproto refuses a PROXY UNSPEC,
// so it is taken here, before the library sees it, like v1's UNKNOWN,
// whose rest is ignored too. A PROXY of family UNIX (stream) is a
// frontend on a UNIX socket (HAProxy's bind unix@): its client has no IP
// address, so the socket's stands too, and its TLVs are read as any
// other's (a certificate behind TLS there counts).
func parseProxyHeader(hdr []byte) (proxied, error) {
	if bytes.HasPrefix(hdr, proxyV2Unspec) {
		return proxied{}, nil
	}
	h, err := proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(hdr), max(len(hdr), 16)))
	if err != nil {
		return proxied{}, err
	}
	if h.Command.IsLocal() {
		return proxied{}, nil
	}
	var p proxied
	src, _, isTCP := h.TCPAddrs()
	switch {
	case isTCP:
		p = proxied{ip: src.IP, port: uint16(src.Port), ok: true}
	case h.TransportProtocol.IsDatagram():
		return proxied{}, errProxyDatagram
	case !h.TransportProtocol.IsUnix():
		return proxied{}, errNotProxy
	}
	tlvs, err := h.TLVs()
	if err != nil {
		return proxied{}, err
	}
	if p.cert, err = certFromTLVs(tlvs); err != nil {
		return proxied{}, err
	}
	return p, nil
}

// readProxyHeader takes the PROXY header from the start of buf and returns
// the bytes it used; 0 means wait for more. On a bad header the session
// fails, and on one begun and not finished in the handshake time too
// (proxyTimedOut).
func (s *session) readProxyHeader(buf []byte) int {
	n, err := proxyHeaderLen(buf)
	if err != nil {
		s.failBadProxy(err.Error())
		return 0
	}
	if n == 0 {
		s.set(proxyPartial, len(buf) > 0)
		return 0
	}
	p, err := parseProxyHeader(buf[:n])
	if err != nil {
		s.failBadProxy(err.Error())
		return 0
	}
	if p.ok {
		s.cip, s.port = s.lp.cips.of(p.ip), p.port
		s.keepCert(p.cert)
	}
	if !s.addrBanned() && s.admit() {
		s.state = awaitPassword
		s.write(promptPassword) // only now: the proxy's header comes first
	}
	return n
}

// proxyTimedOut ends a session whose handshake time ran out before its
// PROXY header was whole. One that had begun is a bad header (cut short,
// its sender silent): refused and counted as a malformed one is, "190
// protocol error", not told as a handshake timeout, which would hide a
// proxy that breaks its headers. One with no byte yet is a timeout.
func (s *session) proxyTimedOut() {
	if !s.is(proxyPartial) {
		s.fail(protocol.ReasonHandshakeTimeout)
		return
	}
	s.failBadProxy("the header was cut short, then nothing came for the handshake time")
}
