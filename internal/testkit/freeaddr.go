package testkit

import (
	"net"
	"strconv"
	"testing"

	"github.com/cliser/cliser/internal/freeport"
)

// FreeAddr is a loopback host:port nothing listens on now, which something
// can listen on later: a server the test starts in another process, a
// peer that is down and then comes up (freeport: no port-0 listener can
// take it meanwhile).
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// PortOf is the port of a host:port, such as FreeAddr's (a server started
// on it later, NATSAuth).
func PortOf(t testing.TB, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
