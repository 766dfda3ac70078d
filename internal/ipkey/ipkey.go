// Package ipkey says what a per-IP limit counts a client by: the protocol
// side's ban and handshake cap (reactor) and the admin API's wrong-token
// limit share it, so that --ipv6-guard-prefix means one thing for both.
package ipkey

import (
	"net/netip"
	"strings"
)

// DefaultIPv6Prefix: an IPv6 client counts by its /64, the block one host
// or one site is given (RFC 6177): one address each would let a single
// host pick a fresh one per try. MinIPv6Prefix and MaxIPv6Prefix bound
// the setting (128: each address alone).
const (
	DefaultIPv6Prefix = 64
	MinIPv6Prefix     = 16
	MaxIPv6Prefix     = 128
)

// Of is what a limit counts ip (an address without port) as: an IPv4 or
// IPv4-mapped address itself, an IPv6 one its network of v6Bits in the
// form an operator reads ("2001:db8:1:2::/64"), since a host is given a
// whole block and could take a fresh address for each try. At 128 bits,
// or for what does not parse, the address is its own key.
func Of(ip string, v6Bits int) string {
	if v6Bits >= MaxIPv6Prefix || strings.IndexByte(ip, ':') < 0 {
		return ip
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Is4In6() {
		return ip
	}
	prefix, err := addr.Prefix(v6Bits)
	if err != nil {
		return ip
	}
	return prefix.String()
}
