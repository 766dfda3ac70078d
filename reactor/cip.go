package reactor

import "net"

// cipNames turns a peer's IP into the string the session, the per-IP
// guard and the registry share, by pointer. Clients come many from one
// address (a NAT, a proxy, a load generator's few), and the string is held
// for as long as the client is connected: handing out one string per
// address saves an allocation per handshake and 16 bytes per connected
// client, and the pointer 8 bytes more in each of the session and the
// registry's entry. Nobody writes through it. One per loop, used only
// there.
type cipNames map[[net.IPv6len]byte]*string

// maxCIPNames bounds a loop's names; past it the set starts over, so a
// fleet of distinct addresses costs what it did before, no more.
const maxCIPNames = 1024

// of is ip's string, as net.IP.String spells it.
func (m *cipNames) of(ip net.IP) *string {
	var key [net.IPv6len]byte
	if copy(key[:], ip.To16()) != net.IPv6len {
		s := ip.String() // not an IP: as String says it
		return &s
	}
	if s, ok := (*m)[key]; ok {
		return s
	}
	if len(*m) >= maxCIPNames {
		*m = make(cipNames)
	}
	s := ip.String()
	(*m)[key] = &s
	return &s
}

// noAddr is the address of a peer whose address is not known.
var noAddr string

// splitAddr is a's IP, named through names, and port.
func splitAddr(a net.Addr, names *cipNames) (ip *string, port uint16) {
	if t, ok := a.(*net.TCPAddr); ok {
		return names.of(t.IP), uint16(t.Port)
	}
	if a == nil {
		return &noAddr, 0
	}
	s := a.String()
	return &s, 0
}
