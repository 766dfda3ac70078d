package reactor

import (
	"maps"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/pires/go-proxyproto"
)

// FuzzProxyHeader feeds arbitrary bytes to the PROXY header framing and
// parsing: no panic, a measured header never exceeds the bytes given or the
// v2 limit, every prefix of it waits for more and a refusal stands
// whatever follows (the header comes in reads of any size), and whatever
// parses gives an address. Seeded with the golden
// headers, good and broken.
func FuzzProxyHeader(f *testing.F) {
	src := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 56324}
	dst := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 7070}
	for _, v := range []byte{1, 2} {
		h, err := proxyproto.HeaderProxyFromAddrs(v, src, dst).Format()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(h)
		f.Add(append(h, "110 pw\n"...))
	}
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x00\x00\x00"))
	f.Add([]byte("110 pw\n"))
	for _, name := range slices.Sorted(maps.Keys(brokenProxyHeaders)) {
		f.Add([]byte(brokenProxyHeaders[name]))
	}
	// e2e/hostile_test.go's broken headers that the table above has not.
	sig2 := "\r\n\r\n\x00\r\nQUIT\n"
	for _, s := range []string{"PROXY TCP4 999.0.0.1 192.0.2.1 1000 7070\r\n", "PROXY TCP4 1.2.3.4 192.0.2.1 99999 7070\r\n",
		"PROXY TCP6 1.2.3.4 192.0.2.1 1000 7070\r\n", "proxy TCP4 1.2.3.4 192.0.2.1 1000 7070\r\n",
		sig2 + "\x21\x11\x00\x04" + "\x01\x02\x03\x04", sig2 + "\x31\x11\x00\x0c" + strings.Repeat("\x01", 12), sig2[:7] + "garbage\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := proxyHeaderLen(data)
		if err != nil {
			// Refused for good: no bytes still to come make it a header,
			// or a session would be failed for what a later read fixes.
			for _, more := range []string{"\r\n", " 1\r\n", "\x00\x00"} {
				if m, err := proxyHeaderLen(append(slices.Clip(data), more...)); err == nil {
					t.Fatalf("%q refused, but %q measures %d", data, append(slices.Clip(data), more...), m)
				}
			}
			return
		}
		if n == 0 {
			return
		}
		// A header cut anywhere by the reads is waited for, not refused.
		for k := range n {
			if m, err := proxyHeaderLen(data[:k]); m != 0 || err != nil {
				t.Fatalf("%q measures %d, but its first %d bytes %d, %v", data[:n], n, k, m, err)
			}
		}
		if n > len(data) || n > proxyV2Fixed+proxyV2MaxLen {
			t.Fatalf("header length %d of %d bytes", n, len(data))
		}
		p, err := parseProxyHeader(data[:n])
		if err == nil && p.ok && len(p.ip) == 0 {
			t.Fatalf("parsed header without address: %q", data[:n])
		}
	})
}
