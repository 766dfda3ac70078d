package reactor

import (
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Clients of one address share one peer for it, by pointer, whatever
// form of the IP gnet hands over; other addresses get their own, spelled
// as net.IP.String spells them, also past the set's bound.
func TestCIPNamesShareOneString(t *testing.T) {
	names := make(cipNames)
	a := names.of(net.IPv4(127, 0, 0, 1).To4())
	b := names.of(net.IPv4(127, 0, 0, 1)) // the 16-byte form
	require.Equal(t, "127.0.0.1", a.ip)
	assert.Same(t, a, b, "one address, two strings")
	assert.Equal(t, "2001:db8::1", names.of(net.ParseIP("2001:db8::1")).ip)

	for i := range maxCIPNames + 10 {
		ip := net.IPv4(10, 0, byte(i>>8), byte(i))
		require.Equal(t, ip.String(), names.of(ip).ip)
	}
	assert.LessOrEqual(t, len(names), maxCIPNames)
	assert.Equal(t, "<nil>", names.of(nil).ip, "no IP: as net.IP.String says it")
	ip, port := splitAddr(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}, &names)
	assert.Equal(t, fmt.Sprint("192.0.2.7", 4000), fmt.Sprint(ip.ip, port))
	ip, _ = splitAddr(nil, &names)
	assert.Empty(t, ip.ip)
}
