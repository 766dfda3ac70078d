package reactor

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// "[::]" is every address, IPv4 too, as Go listens on it (the admin API
// does): gnet bound it IPv6 only, and IPv4 clients were refused.
func TestListenOnUnspecifiedIPv6TakesIPv4Too(t *testing.T) {
	s := startServer(t, WithAddr("[::]:0"))
	_, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	testkit.Dial(t, net.JoinHostPort("127.0.0.1", port)).Handshake(testPassword, "over-ipv4")
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("no IPv6 loopback here (%v): an IPv6 client is not tried", err)
		return
	}
	_ = ln.Close()
	testkit.Dial(t, net.JoinHostPort("::1", port)).Handshake(testPassword, "over-ipv6")
}
