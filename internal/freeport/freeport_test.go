package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Picked ports are below the ephemeral range, never the same twice, and
// free to listen on; a listener on port 0 meanwhile never takes one.
func TestLoopbackStaysOutOfTheEphemeralRange(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		addr, err := Loopback()
		require.NoError(t, err)
		require.False(t, seen[addr], "%s handed out twice", addr)
		seen[addr] = true
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		p, err := strconv.Atoi(port)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, p, Floor)
		assert.Less(t, p, Ceiling)

		zero, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		assert.NotEqual(t, addr, zero.Addr().String(), "a port-0 listener took the picked port")
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "the picked port is free")
		require.NoError(t, ln.Close())
		require.NoError(t, zero.Close())
	}
}
