package reactor

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A peer that opens connection after connection and fails each one (here
// a line that is not 110; the same for PROXY headers from an untrusted
// address) chose how many lines the server logged: one a connection, 270
// KB a second from one Python loop. Now the first lines of each kind per
// window are logged, and one line tells how many more there were; the
// count of the logged and the told is every connection. Connections
// refused by their address on accept (here after too many wrong passwords;
// a ban or the per-IP handshake cap alike) were not logged at all (audit).
func TestRefusedConnectionsDoNotFloodTheLog(t *testing.T) {
	const conns = 3 * refusalLogFirst
	const summary = "too many to log one by one"
	window := func(o *options) { o.refusalLogEvery = time.Hour } // one window for the whole test
	for name, tc := range map[string]struct {
		opts   []Option
		before func(t *testing.T, s *testServer)
		line   string
		send   string
		want   []string
	}{
		"failed handshakes": {line: "handshake failed", send: "hello\n",
			want: []string{"110 password", closeLine(protocol.ReasonProtocolError)}},
		"untrusted PROXY senders": {line: "connection refused: not a trusted PROXY sender (--proxy-trusted)",
			opts: []Option{WithProxyProtocol(true), WithProxyTrusted([]string{"192.0.2.0/24"})},
			want: []string{closeLine(protocol.ReasonProtocolError)}},
		"addresses refused on accept": {line: "connection refused before its handshake",
			opts: []Option{WithAuthFailLimit(2, time.Hour)},
			before: func(t *testing.T, s *testServer) {
				for range 2 {
					c := s.dial(t)
					c.Send("110 wrong\n")
					c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
				}
			},
			want: []string{closeLine(protocol.ReasonTooManyAttempts)}},
	} {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			srv, err := New(registry.New(), append([]Option{WithAddr("127.0.0.1:0"), WithPasswords([][]byte{[]byte(testPassword)}),
				WithLoops(2), WithLogger(zap.New(core)), window}, tc.opts...)...)
			require.NoError(t, err)
			require.NoError(t, srv.Start())
			s := &testServer{Server: srv}
			if tc.before != nil {
				tc.before(t, s)
			}
			for range conns {
				c := s.dial(t)
				if tc.send != "" {
					c.Send(tc.send)
				}
				c.ExpectClosed(tc.want...)
			}
			eventually(t, func() bool { return srv.conns.Load() == 0 }, "every refused connection closed")
			eventually(t, func() bool { return logs.FilterMessageSnippet(summary).Len() > 0 }, "a summary while the server runs")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, srv.Stop(ctx))

			logged := logs.FilterMessage(tc.line).Len()
			for _, e := range logs.FilterMessage(tc.line).All() {
				if p, ok := e.ContextMap()["cport"]; ok {
					assert.IsType(t, "", p, "cport is a string, as in every line") // was a number on accept
				}
				// An untrusted PROXY sender's was "remote" (ip:port): a
				// search by cip missed it.
				assert.Equal(t, "127.0.0.1", e.ContextMap()["cip"], "the address under cip, as in every line")
			}
			assert.Equal(t, refusalLogFirst, logged, "one line a connection for the first of the window only")
			told := int64(0)
			summaries := logs.FilterMessageSnippet(summary).All()
			for _, e := range summaries {
				told += e.ContextMap()["not_logged"].(int64)
			}
			assert.LessOrEqual(t, len(summaries), 2, "one summary a window, and the last at the stop")
			assert.Equal(t, int64(conns), int64(logged)+told, "every connection is logged or told")
			if tc.before != nil {
				refused := logs.FilterMessage("address refused for --auth-fail-window after too many wrong passwords").All()
				require.Len(t, refused, 1, "said once, at the failure that refused the address")
				assert.Equal(t, "127.0.0.1", refused[0].ContextMap()["cip"])
			}
		})
	}
}

// A connection refused on accept by the per-IP guard ("too many attempts",
// the per-IP handshake cap's "server full") is refused for what the guard
// counts its address as: an IPv6 address's /64. Its line named only the
// address, so an operator looking at 2001:db8:1:2::b, which never sent a
// wrong password, could not tell that its /64's had it refused; the WARN
// that refuses an address said counted_as, this line did not. Now it says
// counted_as too, IPv4 (the address itself) as IPv6, behind a PROXY header
// or on [::1].
func TestGuardRefusalsSayWhatTheAddressCountsAs(t *testing.T) {
	refused := "connection refused before its handshake"
	hdr := func(ip string) string { return testkit.ProxyHeader(t, 2, ip, 1000) }
	core, logs := observer.New(zap.InfoLevel)
	srv := startServer(t, WithProxyProtocol(true), WithAuthFailLimit(1, time.Hour), WithMaxHandshakesPerIP(1),
		WithLogger(zap.New(core)))

	c := srv.dial(t)
	c.Send(hdr("2001:db8:1:2::a") + "110 wrong\n")
	c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
	c = srv.dial(t)
	c.Send(hdr("2001:db8:1:2::b"))
	c.ExpectClosed(closeLine(protocol.ReasonTooManyAttempts))

	c = srv.dial(t)
	c.Send(hdr("2001:db8:5:5::1"))
	c.Expect("110 password") // it holds its /64's one handshake
	c = srv.dial(t)
	c.Send(hdr("2001:db8:5:5::2"))
	c.ExpectClosed(closeLine(protocol.ReasonServerFull))
	c = srv.dial(t)
	c.Send(hdr("198.51.100.40") + "110 wrong\n")
	c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
	c = srv.dial(t)
	c.Send(hdr("198.51.100.40"))
	c.ExpectClosed(closeLine(protocol.ReasonTooManyAttempts))

	want := map[string]string{
		"2001:db8:1:2::b": "2001:db8:1:2::/64",
		"2001:db8:5:5::2": "2001:db8:5:5::/64",
		"198.51.100.40":   "198.51.100.40",
	}
	got := func() map[string]any {
		m := map[string]any{}
		for _, e := range logs.FilterMessage(refused).All() {
			m[e.ContextMap()["cip"].(string)] = e.ContextMap()["counted_as"]
		}
		return m
	}
	eventually(t, func() bool { return len(got()) == len(want) }, "a line for each refused address")
	for ip, key := range want {
		assert.Equal(t, key, got()[ip], "%s's line", ip)
	}
	// The flag behind each: "server full" alone pointed at --max-clients.
	flags := map[string]any{}
	for _, e := range logs.FilterMessage(refused).All() {
		flags[e.ContextMap()["cip"].(string)] = e.ContextMap()["flag"]
	}
	assert.Equal(t, map[string]any{"2001:db8:1:2::b": "--auth-fail-limit", "2001:db8:5:5::2": "--max-handshakes-per-ip",
		"198.51.100.40": "--auth-fail-limit"}, flags)
	for _, e := range logs.FilterMessage("address refused for --auth-fail-window after too many wrong passwords").All() {
		if e.ContextMap()["cip"] == "2001:db8:1:2::a" {
			assert.Equal(t, "2001:db8:1:2::/64", e.ContextMap()["counted_as"], "the WARN said it already")
		}
	}

	t.Run("on [::1]", func(t *testing.T) {
		if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
			t.Skip("no IPv6 loopback:", err)
		} else {
			_ = l.Close()
		}
		core, logs := observer.New(zap.InfoLevel)
		srv := startServer(t, WithAddr("[::1]:0"), WithAuthFailLimit(1, time.Hour), WithLogger(zap.New(core)))
		c := srv.dial(t)
		c.Send("110 wrong\n")
		c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
		srv.dial(t).ExpectClosed(closeLine(protocol.ReasonTooManyAttempts))
		eventually(t, func() bool { return logs.FilterMessage(refused).Len() == 1 }, "the refusal is logged")
		e := logs.FilterMessage(refused).All()[0].ContextMap()
		assert.Equal(t, "::1", e["cip"])
		assert.Equal(t, "::/64", e["counted_as"])
	})
}
