package e2e

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
)

// PROXY protocol garbage with --proxy-protocol on. The client package does
// not speak PROXY (HAProxy does, see haproxy_test.go), so the healthy
// clients here are raw ones that send a valid v2 header and echo every
// keep-alive from a goroutine of their own.

func proxyHeader(t testing.TB, version byte, ip string, port int) string {
	t.Helper()
	b, err := proxyproto.HeaderProxyFromAddrs(version,
		&net.TCPAddr{IP: net.ParseIP(ip), Port: port},
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 7070}).Format()
	require.NoError(t, err)
	return string(b)
}

// echoer is a healthy raw client behind a (pretend) proxy.
type echoer struct {
	id   string
	c    *rawConn
	done chan struct{}
	bad  testkit.List[string] // anything but a keep-alive, or the error that ended it
}

func startEchoer(t *testing.T, addr, id, clientIP string) *echoer {
	t.Helper()
	c := dialFrom(t, addr, "")
	c.mustSend(proxyHeader(t, 2, clientIP, 40000))
	c.handshake(id)
	e := &echoer{id: id, c: c, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for {
			line, err := c.readLine(time.Minute)
			if err != nil {
				e.bad.Add(err.Error())
				return
			}
			if !strings.HasPrefix(line, "100 ") {
				e.bad.Add(line)
				return
			}
			if err := c.send(line + "\n"); err != nil {
				e.bad.Add(err.Error())
				return
			}
		}
	}()
	t.Cleanup(func() { _ = c.Conn.Close(); <-e.done })
	return e
}

func TestHostileProxyHeaders(t *testing.T) {
	s := startServer(t,
		reactor.WithProxyProtocol(true),
		reactor.WithKeepAlive(hostileKeepInterval, hostileKeepTimeout),
		reactor.WithHandshakeTimeout(hostileHandshakeTimeout),
		reactor.WithAuthFailLimit(2, time.Minute),
	)
	const healthyCount = 5
	var healthy []*echoer
	for i := range healthyCount {
		healthy = append(healthy, startEchoer(t, s.Addr(), fmt.Sprintf("proxied-healthy-%d", i), fmt.Sprintf("203.0.113.%d", i+1)))
	}
	sids := map[string]uint16{}
	for _, e := range healthy {
		rec, ok := s.Registry().Get(e.id)
		require.True(t, ok)
		sids[e.id] = rec.SID
	}
	began := time.Now()

	v1 := proxyHeader(t, 1, "198.51.100.20", 1234)
	v2 := proxyHeader(t, 2, "198.51.100.21", 1234)
	sig2 := "\r\n\r\n\x00\r\nQUIT\n"
	errLine := closeLine(protocol.ReasonProtocolError)
	want := []string{errLine} // with PROXY on, the prompt waits for a whole header (IDENTITY.md)
	cases := []struct {
		name string
		send string
		want []string
	}{
		{"no header, plain answers", okPass + "120 no-header\n", want},
		{"v1 garbage", "PROXY NONSENSE\r\n", want},
		{"v1 without CRLF, overlong", "PROXY TCP4 " + strings.Repeat("1", 120), want},
		{"v1 with LF only, then answers", "PROXY TCP4 1.2.3.4 5.6.7.8 1000 7070\n" + okPass + "120 lf-only\n" + strings.Repeat("x", 60), want},
		{"v1 bad address", "PROXY TCP4 999.0.0.1 192.0.2.1 1000 7070\r\n", want},
		{"v1 bad port", "PROXY TCP4 1.2.3.4 192.0.2.1 99999 7070\r\n", want},
		{"v1 IPv6 family with IPv4 addresses", "PROXY TCP6 1.2.3.4 192.0.2.1 1000 7070\r\n", want},
		{"v1 lowercase", "proxy TCP4 1.2.3.4 192.0.2.1 1000 7070\r\n", want},
		{"v2 bad family", sig2 + "\x21\x99\x00\x00", want},
		{"v2 length too big", sig2 + "\x21\x11\xff\xff", want},
		{"v2 TCP4 with a too-short address block", sig2 + "\x21\x11\x00\x04" + "\x01\x02\x03\x04", want},
		{"v2 version 3", sig2 + "\x31\x11\x00\x0c" + strings.Repeat("\x01", 12), want},
		{"v2 signature cut and garbage", sig2[:7] + "garbage\n", want},
		{"binary noise", noise(11, 300, true), want},
		{"NUL bytes", strings.Repeat("\x00", 64), want},
		{"two headers", v1 + v1, only110(errLine)},
		{"valid v2 header, then NUL junk", v2 + "\x00\x00\x00\n", only110(errLine)},
		{"valid v1 header, then overlong line", v1 + strings.Repeat("a", 600), only110(closeLine(protocol.ReasonLineTooLong))},
		{"truncated v2 header, then silence", v2[:20], []string{closeLine(protocol.ReasonHandshakeTimeout)}},
		{"silence", "", []string{closeLine(protocol.ReasonHandshakeTimeout)}},
	}
	conns := 0
	t.Run("garbage", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, tc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(tc.name, func(t *testing.T) {
					c := dialFrom(t, s.Addr(), "")
					got := make(chan []string, 1)
					go func() { got <- c.transcript(hostileHandshakeTimeout + 5*time.Second) }()
					if tc.send != "" {
						_ = c.send(tc.send)
					}
					assert.Equal(t, tc.want, <-got)
				})
			}()
		}
		wg.Wait()
		conns += len(cases)
	})

	t.Run("ban follows the header's address", func(t *testing.T) {
		hdr := proxyHeader(t, 1, "198.51.100.66", 999)
		for range 2 {
			c := dialFrom(t, s.Addr(), "")
			c.mustSend(hdr + "110 nope\n")
			require.Equal(t, only110(closeLine(protocol.ReasonAuthFailed)), c.transcript(5*time.Second))
		}
		c := dialFrom(t, s.Addr(), "")
		c.mustSend(hdr + okPass + "120 banned-behind-proxy\n")
		require.Equal(t, []string{closeLine(protocol.ReasonTooManyAttempts)}, c.transcript(5*time.Second))
		conns += 3
	})

	t.Run("header cut at every byte", func(t *testing.T) {
		for i, hdr := range []string{v1, v2} {
			for cut := 1; cut < len(hdr); cut++ {
				c := dialFrom(t, s.Addr(), "")
				c.mustSend(hdr[:cut])
				id := fmt.Sprintf("proxy-cut-%d-%d", i, cut)
				c.mustSend(hdr[cut:] + okPass + "120 " + id + "\n")
				c.Expect("110 password") // once the header is whole
				c.Expect("120 id")
				line, err := c.readLine(5 * time.Second)
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(line, "140 connected "), line)
				rec, ok := s.Registry().Get(id)
				require.True(t, ok)
				require.Equal(t, fmt.Sprintf("198.51.100.%d", 20+i), rec.CIP, "cip must come from the header")
				_ = c.Conn.Close()
				conns++
			}
		}
	})

	require.Eventually(t, func() bool {
		connected, _ := s.Registry().Counts()
		return s.Reactor().Connections() == healthyCount && connected == healthyCount
	}, 10*time.Second, 10*time.Millisecond, "connections or registrations leaked")
	lost := 0
	for _, e := range healthy {
		if len(e.bad.All()) > 0 {
			lost++
		}
		assert.Empty(t, e.bad.All(), "healthy proxied client %s", e.id)
		rec, ok := s.Registry().Get(e.id)
		require.True(t, ok)
		assert.True(t, rec.CStatus, e.id)
		assert.Equal(t, sids[e.id], rec.SID, e.id)
		assert.True(t, rec.LastSeen.After(began), "%s answered no keep-alive during the run", e.id)
	}
	// And a fresh proxied client still registers.
	c := dialFrom(t, s.Addr(), "")
	c.mustSend(proxyHeader(t, 2, "192.0.2.200", 5555))
	assert.NotZero(t, c.handshake("proxied-after"))
	s.assertNoSecretInLogs(t, testPassword)
	t.Logf("PROXY garbage: %d cases, %d connections, %d healthy clients lost", len(cases)+2, conns, lost)
}
