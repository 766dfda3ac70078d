package harness

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// A hold round's fleet is closed by the load, and the server has seen
// every close once none of its sockets to the round's source net is still
// open (established, or half-closed by the peer and not yet by it). Its
// open files would not say so alone: the harness's own /metrics
// connection comes and goes with the HTTP client's idle timeout (a round
// saw 19 files against 18 before it, every client gone).

// tcpStates are the kernel's states (include/net/tcp_states.h) of a
// server's socket it has not closed yet: ESTABLISHED and CLOSE_WAIT.
var tcpStates = map[string]bool{"01": true, "08": true}

// serverSocketsFrom counts the sockets open on the server at addr (ip:port)
// whose peer is in 127.srcNet.0.0/16, from /proc/net/tcp.
func serverSocketsFrom(addr string, srcNet int) (int, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	local, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0, err
	}
	return countSocketsFrom(f, local, srcNet)
}

// countSocketsFrom reads a /proc/net/tcp table from r: the sockets whose
// local address is local, whose peer is in 127.srcNet.0.0/16 and whose
// state is one of tcpStates.
func countSocketsFrom(r io.Reader, local netip.AddrPort, srcNet int) (int, error) {
	sc := bufio.NewScanner(r)
	n := 0
	for first := true; sc.Scan(); first = false {
		if first {
			continue // the header
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			return n, fmt.Errorf("/proc/net/tcp: short line %q", sc.Text())
		}
		l, err1 := parseProcAddr(f[1])
		p, err2 := parseProcAddr(f[2])
		if err1 != nil || err2 != nil {
			return n, fmt.Errorf("/proc/net/tcp: line %q: %v %v", sc.Text(), err1, err2)
		}
		ip := p.Addr().As4()
		if l == local && ip[0] == 127 && int(ip[1]) == srcNet && tcpStates[f[3]] {
			n++
		}
	}
	return n, sc.Err()
}

// parseProcAddr parses /proc/net/tcp's "0100007F:1F90": the IPv4 address
// as the kernel's 32-bit word in the host's byte order, printed in hex (a
// little-endian host prints 127.0.0.1 as 0100007F), then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok || len(h) != 8 {
		return netip.AddrPort{}, fmt.Errorf("address %q", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip := netip.AddrFrom4([4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
	return netip.AddrPortFrom(ip, uint16(port)), nil
}
