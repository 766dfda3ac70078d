package testkit

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// The ports FreeAddr hands out: below the kernel's ephemeral range, from
// freeFloor up. A listener on port 0 and an outgoing connection take their
// port from that range, so they can not take one of these between the
// pick and the bind; it happened with a port picked from the range (an
// admin API on 127.0.0.1:0 got the port just picked for the protocol
// listener, and the server could not start).
const (
	freeFloor         = 20000
	ephemeralFallback = 32768 // Linux's default start of the range
)

var (
	freeMu     sync.Mutex
	handedOut  = map[int]bool{} // no two calls in this process get one port
	ephemeralS = ephemeralStart()
)

// FreeAddr is a loopback host:port nothing listens on now, which something
// can listen on later: a server the test starts in another process, a
// peer that is down and then comes up.
func FreeAddr(t testing.TB) string {
	t.Helper()
	freeMu.Lock()
	defer freeMu.Unlock()
	for range 200 {
		port := freeFloor + rand.IntN(ephemeralS-freeFloor)
		if handedOut[port] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken
		}
		_ = ln.Close()
		handedOut[port] = true
		return addr
	}
	t.Fatalf("no free port between %d and %d after 200 tries", freeFloor, ephemeralS)
	return ""
}

// ephemeralStart is the first port of the kernel's ephemeral range.
func ephemeralStart() int {
	var lo, hi int
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return ephemeralFallback
	}
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= freeFloor+1000 {
		return ephemeralFallback
	}
	return lo
}
