// Package freeport picks TCP ports for servers started later, in another
// process or after a pause: below the kernel's ephemeral range, from
// Floor up. A listener on port 0 and an outgoing connection take their
// port from that range, so neither can take a picked port between the
// pick and the bind. A port picked by listening on 127.0.0.1:0 and
// closing did get taken so: the kernel gave it straight back to the next
// port-0 listener (the server's own admin API), and the server could not
// start.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
)

// Floor is the lowest port picked.
const Floor = 20000

// ephemeralFallback is Linux's default start of the ephemeral range.
const ephemeralFallback = 32768

var (
	mu        sync.Mutex
	handedOut = map[int]bool{} // no two picks in a process give one port
	// Ceiling is the first port not picked: the ephemeral range's start.
	Ceiling = ephemeralStart()
)

// ErrNone: every try found its port taken.
var ErrNone = errors.New("freeport: no free port found")

// Loopback is a 127.0.0.1 host:port that nothing on any interface listens
// on now. Safe for concurrent use.
func Loopback() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		port := Floor + rand.IntN(Ceiling-Floor)
		if handedOut[port] {
			continue
		}
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port)) // free on every interface, loopback included
		if err != nil {
			continue
		}
		_ = ln.Close()
		handedOut[port] = true
		return fmt.Sprintf("127.0.0.1:%d", port), nil
	}
	return "", fmt.Errorf("%w between %d and %d after 200 tries", ErrNone, Floor, Ceiling)
}

// ephemeralStart is the first port of the kernel's ephemeral range; with
// none readable, or one that leaves no room above Floor, Linux's default.
func ephemeralStart() int {
	var lo, hi int
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return ephemeralFallback
	}
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= Floor+1000 {
		return ephemeralFallback
	}
	return lo
}
