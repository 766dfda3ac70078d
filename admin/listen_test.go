package admin_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/registry"
)

// --admin-listen 0.0.0.0:PORT is IPv4 alone, as --listen 0.0.0.0:PORT is:
// Go's "tcp" bound it on every IPv6 address too, so an operator who kept
// the API to IPv4 had it answer on IPv6 as well (audit). The API and the
// standby before it bind alike; "[::]" is still both.
func TestAdminOnIPv4WildcardIsIPv4Alone(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		_ = ln.Close()
	}
	reaches := func(host, addr string) bool {
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 2*time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}
	hs, err := admin.New(registry.New()).Listen("0.0.0.0:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(context.Background()) })
	assert.True(t, reaches("127.0.0.1", hs.Addr()))
	assert.False(t, reaches("::1", hs.Addr()), "the API on IPv6 too")

	sb, err := admin.ListenStandby("0.0.0.0:0", func() string { return "starting" }, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	assert.True(t, reaches("127.0.0.1", sb.Addr()))
	assert.False(t, reaches("::1", sb.Addr()), "the standby on IPv6 too")

	both, err := admin.New(registry.New()).Listen("[::]:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = both.Shutdown(context.Background()) })
	assert.True(t, reaches("127.0.0.1", both.Addr()))
	assert.True(t, reaches("::1", both.Addr()))
}
