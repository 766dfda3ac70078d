package testkit

import (
	"net"
	"strings"
	"testing"

	"github.com/pires/go-proxyproto"
	"github.com/stretchr/testify/require"
)

// ProxyHeader is a PROXY protocol header (version 1 or 2) that says a
// client at ip:port connected to 192.0.2.1:7070 (an IPv6 client: to
// [2001:db8:ffff::1]:7070). Safe from any goroutine.
func ProxyHeader(t testing.TB, version byte, ip string, port int) string {
	t.Helper()
	b, err := proxyproto.HeaderProxyFromAddrs(version,
		&net.TCPAddr{IP: net.ParseIP(ip), Port: port},
		&net.TCPAddr{IP: net.ParseIP(proxiedTo(ip)), Port: 7070}).Format()
	require.NoError(t, err)
	return string(b)
}

// proxiedTo is the destination a header from ip names: of ip's family,
// as a proxy's own address is.
func proxiedTo(ip string) string {
	if strings.Contains(ip, ":") {
		return "2001:db8:ffff::1"
	}
	return "192.0.2.1"
}
