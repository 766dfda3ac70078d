package e2e

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// freePort finds a port nobody listens on, for a server that must come
// back on the same one.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
