package reactor

import "net"

// peer is a client address as its loop holds it: the string the session
// and the registry share, by pointer (to ip), and the loop's pointer to
// the address's entry in the per-IP guard (limits.go), so a handshake's
// admit and done look nothing up. Nobody writes ip after it is made;
// guard is read and written only on the loop.
type peer struct {
	ip    string
	guard *ipState // nil until the loop's first admit from the address
}

// cipNames turns a peer's IP into its loop's peer. Clients come many from
// one address (a NAT, a proxy, a load generator's few), and the string is
// held for as long as the client is connected: one string per address
// saves an allocation per handshake and 16 bytes per connected client,
// and the pointer 8 bytes more in each of the session and the registry's
// entry. One per loop, used only there.
type cipNames map[[net.IPv6len]byte]*peer

// maxCIPNames bounds a loop's names; past it the set starts over, so a
// fleet of distinct addresses costs what it did before, no more.
const maxCIPNames = 1024

// of is ip's peer, its string as net.IP.String spells it.
func (m *cipNames) of(ip net.IP) *peer {
	var key [net.IPv6len]byte
	if copy(key[:], ip.To16()) != net.IPv6len {
		return &peer{ip: ip.String()} // not an IP: as String says it
	}
	if p, ok := (*m)[key]; ok {
		return p
	}
	if len(*m) >= maxCIPNames {
		*m = make(cipNames)
	}
	p := &peer{ip: ip.String()}
	(*m)[key] = p
	return p
}

// splitAddr is a's IP, named through names, and port. A peer whose address
// is not known is named "", its own: the guard's pointer in it is its
// loop's.
func splitAddr(a net.Addr, names *cipNames) (ip *peer, port uint16) {
	if t, ok := a.(*net.TCPAddr); ok {
		return names.of(t.IP), uint16(t.Port)
	}
	if a == nil {
		return &peer{}, 0
	}
	return &peer{ip: a.String()}, 0
}
