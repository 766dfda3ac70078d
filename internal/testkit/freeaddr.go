package testkit

import (
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
