package reactor

import (
	"net"
	"strconv"
)

// pinAddr binds addr once with a plain listener and closes it, for two
// things gnet's reuse-port mode cannot do itself: it gives port 0 a real
// port before every loop binds its own listener (each would otherwise get
// a port of its own), and it refuses a port another process listens on,
// which SO_REUSEPORT alone would quietly share with it (same user). The
// host stays as given: ":7070" must stay every address, not become "[::]",
// which gnet binds IPv6 only. "[::]" itself becomes "": every address, as
// Go (and so the admin API) listens on it; an operator who wrote it got no
// IPv4 client at all.
func pinAddr(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() && ip.To4() == nil {
		host = ""
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}
