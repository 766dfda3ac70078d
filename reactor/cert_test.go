package reactor

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// sslTLV describes the PP2_TYPE_SSL TLV a test header carries.
type sslTLV struct {
	client uint8  // PP2_BITFIELD_CLIENT_* bits
	verify uint32 // 0: the presented certificate verified
	cn     string // "": no PP2_SUBTYPE_SSL_CN
}

// verifiedCert is what HAProxy sends for a client that presented a
// certificate on this connection and it verified.
func verifiedCert(cn string) *sslTLV {
	return &sslTLV{client: tlvparse.PP2_BITFIELD_CLIENT_SSL | tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN, cn: cn}
}

// proxyV2 formats a PROXY v2 header from clientIP with go-proxyproto's
// writer, with an SSL TLV when ssl is not nil.
func proxyV2(t testing.TB, clientIP string, ssl *sslTLV) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(2,
		&net.TCPAddr{IP: net.ParseIP(clientIP), Port: 40001},
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 7070})
	if ssl != nil {
		sub := []proxyproto.TLV{{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")}}
		if ssl.cn != "" {
			sub = append(sub, proxyproto.TLV{Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(ssl.cn)})
		}
		tlv, err := tlvparse.PP2SSL{Client: ssl.client, Verify: ssl.verify, TLV: sub}.Marshal()
		require.NoError(t, err)
		require.NoError(t, h.SetTLVs([]proxyproto.TLV{tlv}))
	}
	b, err := h.Format()
	require.NoError(t, err)
	return b
}

// transcript reads every line until the server closes the connection.
func transcript(t testing.TB, c *testkit.RawClient) []string {
	t.Helper()
	var lines []string
	require.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	for {
		line, err := c.R.ReadString('\n')
		if err != nil {
			require.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset"),
				"the server did not close the connection: %v (lines %q)", err, lines)
			return lines
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
}

// proxyCounter counts the reactor's events that tests look at.
type proxyCounter struct {
	nopObserver
	untrusted, badHeader, rejected atomic.Int64
}

func (p *proxyCounter) ProxyRefused(r ProxyRefusal) {
	switch r {
	case ProxyUntrusted:
		p.untrusted.Add(1)
	case ProxyBadHeader:
		p.badHeader.Add(1)
	}
}

func (p *proxyCounter) Rejected(protocol.Reason) { p.rejected.Add(1) }

func certServer(t *testing.T, opts ...Option) *testServer {
	base := []Option{WithProxyProtocol(true), WithProxyTrusted([]string{"127.0.0.0/8"}), WithRequireCertCN(true)}
	return startServer(t, append(base, opts...)...)
}

func TestCertCNAdmitsAVerifiedCertificateOfTheSameName(t *testing.T) {
	srv := certServer(t)
	for _, tc := range []struct {
		name string
		ssl  *sslTLV
	}{
		{"certificate on this connection", verifiedCert("cn-dev-1")},
		{"certificate of the resumed TLS session", &sslTLV{client: tlvparse.PP2_BITFIELD_CLIENT_SSL | tlvparse.PP2_BITFIELD_CLIENT_CERT_SESS, cn: "cn-dev-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.dial(t)
			c.Send(string(proxyV2(t, "203.0.113.5", tc.ssl)))
			c.Register(testPassword, "cn-dev-1")
			rec, ok := srv.reg.Get("cn-dev-1")
			require.True(t, ok)
			assert.True(t, rec.CStatus)
			assert.Equal(t, "203.0.113.5", rec.CIP)
		})
	}
}

func TestCertCNRefusesEveryOtherCase(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	srv := certServer(t, WithLogger(zap.New(core)))
	// The real device holds its ID: no refusal below may disturb it.
	live := srv.dial(t)
	live.Send(string(proxyV2(t, "203.0.113.6", verifiedCert("cn-live"))))
	live.Register(testPassword, "cn-live")
	liveRec, _ := srv.reg.Get("cn-live")

	const (
		otherName  = "certificate name is not the client ID"
		unverified = "client certificate not verified"
		none       = "no client certificate in the PROXY header"
	)
	authFailed := closeLine(protocol.ReasonAuthFailed)
	for _, tc := range []struct {
		name   string
		header []byte
		id     string
		why    string // the log line's "certificate" field
	}{
		{"another ID with that certificate", proxyV2(t, "203.0.113.7", verifiedCert("cn-live")), "cn-other", otherName},
		{"the live ID with another's certificate", proxyV2(t, "203.0.113.7", verifiedCert("cn-other")), "cn-live", otherName},
		{"a name that differs in case", proxyV2(t, "203.0.113.7", verifiedCert("CN-live")), "cn-live", otherName},
		{"certificate that did not verify", proxyV2(t, "203.0.113.7", &sslTLV{client: tlvparse.PP2_BITFIELD_CLIENT_SSL | tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN, verify: 1, cn: "cn-live"}), "cn-live", unverified},
		{"no certificate presented (verify 0 proves nothing)", proxyV2(t, "203.0.113.7", &sslTLV{client: tlvparse.PP2_BITFIELD_CLIENT_SSL, cn: "cn-live"}), "cn-live", none},
		{"verified certificate without a CN", proxyV2(t, "203.0.113.7", verifiedCert("")), "cn-live", otherName},
		{"v2 header without an SSL TLV", proxyV2(t, "203.0.113.7", nil), "cn-live", none},
		{"v1 header (no TLVs at all)", []byte("PROXY TCP4 203.0.113.7 192.0.2.1 40001 7070\r\n"), "cn-live", none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.dial(t)
			c.Send(string(tc.header) + "110 " + testPassword + "\n120 " + tc.id + "\n")
			assert.Equal(t, []string{"110 password", "120 id", authFailed}, transcript(t, c))
			// The client hears "auth failed" alone; the operator's log
			// says it was the certificate, and which way.
			f := takeRefusalLine(t, logs)
			assert.Equal(t, tc.why, f["certificate"], "%v", f)
			assert.Equal(t, tc.id, f["cid"])
		})
	}
	t.Run("matching certificate, wrong password", func(t *testing.T) {
		c := srv.dial(t)
		c.Send(string(proxyV2(t, "203.0.113.8", verifiedCert("cn-live"))) + "110 wrong\n120 cn-live\n")
		assert.Equal(t, []string{"110 password", authFailed}, transcript(t, c))
		assert.NotContains(t, takeRefusalLine(t, logs), "certificate", "a wrong password is no certificate's fault")
	})

	rec, ok := srv.reg.Get("cn-live")
	require.True(t, ok)
	assert.True(t, rec.CStatus, "a refused attempt disturbed the live session")
	assert.Equal(t, liveRec.SID, rec.SID)
	assertNoWaitingNames(t, srv)
}

// takeRefusalLine waits for the one "handshake failed" line of a refused
// attempt and returns its fields, leaving logs empty for the next.
func takeRefusalLine(t *testing.T, logs *observer.ObservedLogs) map[string]any {
	t.Helper()
	eventually(t, func() bool { return logs.FilterMessage("handshake failed").Len() > 0 }, "the refusal is logged")
	lines := logs.FilterMessage("handshake failed").All()
	require.Len(t, lines, 1, "logged once")
	logs.TakeAll()
	return lines[0].ContextMap()
}

func TestCertCNIsIgnoredWhenNotRequired(t *testing.T) {
	srv := startServer(t, WithProxyProtocol(true), WithProxyTrusted([]string{"127.0.0.1"}))
	c := srv.dial(t)
	c.Send(string(proxyV2(t, "203.0.113.9", verifiedCert("someone-else"))))
	c.Register(testPassword, "cn-free-1")
	c2 := srv.dial(t)
	c2.Send(string(proxyV2(t, "203.0.113.9", nil)))
	c2.Register(testPassword, "cn-free-2")
	assertNoWaitingNames(t, srv)
}

func TestMalformedSSLTLVIsAProtocolError(t *testing.T) {
	ob := &proxyCounter{}
	core, logs := observer.New(zap.InfoLevel)
	srv := certServer(t, WithObserver(ob), WithLogger(zap.New(core)))
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP("203.0.113.10"), Port: 1}, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 2})
	// An SSL TLV too short for its client and verify fields.
	require.NoError(t, h.SetTLVs([]proxyproto.TLV{{Type: proxyproto.PP2_TYPE_SSL, Value: []byte{7, 0, 0}}}))
	b, err := h.Format()
	require.NoError(t, err)
	c := srv.dial(t)
	c.Send(string(b) + "110 " + testPassword + "\n120 x\n")
	lines := transcript(t, c)
	require.NotEmpty(t, lines)
	assert.Equal(t, closeLine(protocol.ReasonProtocolError), lines[len(lines)-1])
	assert.NotContains(t, lines, "120 id")
	eventually(t, func() bool { return ob.badHeader.Load() == 1 }, "a bad header is counted")
	// Its line says why: it said "protocol error" alone (identity audit).
	eventually(t, func() bool { return logs.FilterMessage("handshake failed").Len() > 0 }, "the refusal is logged")
	logged := logs.FilterMessage("handshake failed").All()
	require.Len(t, logged, 1, "logged once")
	f := logged[0].ContextMap()
	assert.Equal(t, "protocol error", f["reason"])
	assert.Contains(t, f["proxy_header"], "TLV", "the PROXY header's fault is named: %v", f)
}

func TestUntrustedProxySenderIsRefusedOnAccept(t *testing.T) {
	ob := &proxyCounter{}
	// The test's connections come from 127.0.0.1, outside this list.
	srv := startServer(t, WithProxyProtocol(true), WithProxyTrusted([]string{"10.0.0.0/8", "192.0.2.7"}), WithObserver(ob))
	only := []string{closeLine(protocol.ReasonProtocolError)}

	forged := srv.dial(t)
	forged.Send(string(proxyV2(t, "10.1.2.3", verifiedCert("victim"))) + "110 " + testPassword + "\n120 victim\n")
	assert.Equal(t, only, transcript(t, forged), "a forged header is refused, first line")

	silent := srv.dial(t)
	assert.Equal(t, only, transcript(t, silent), "without a header it is refused all the same")

	eventually(t, func() bool { return ob.untrusted.Load() == 2 && ob.rejected.Load() == 2 }, "each refusal is counted")
	_, ok := srv.reg.Get("victim")
	assert.False(t, ok)
}

func TestTrustedProxySenderMustSendAHeader(t *testing.T) {
	ob := &proxyCounter{}
	srv := startServer(t, WithProxyProtocol(true), WithProxyTrusted([]string{"127.0.0.0/8"}), WithObserver(ob))
	c := srv.dial(t)
	c.Send("110 " + testPassword + "\n120 no-header\n")
	lines := transcript(t, c)
	require.NotEmpty(t, lines)
	assert.Equal(t, closeLine(protocol.ReasonProtocolError), lines[len(lines)-1])
	eventually(t, func() bool { return ob.badHeader.Load() == 1 }, "a missing header is counted")
	assert.Zero(t, ob.untrusted.Load())
}

func TestProxyTrustOptionsAreChecked(t *testing.T) {
	for name, opts := range map[string][]Option{
		"trusted without PROXY protocol": {WithProxyTrusted([]string{"127.0.0.1"})},
		"not an address":                 {WithProxyProtocol(true), WithProxyTrusted([]string{"haproxy.local"})},
		"bad CIDR":                       {WithProxyProtocol(true), WithProxyTrusted([]string{"10.0.0.0/99"})},
		"cert CN without trusted":        {WithProxyProtocol(true), WithRequireCertCN(true)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(registry.New(), append([]Option{WithPasswords([][]byte{[]byte("pw")})}, opts...)...)
			assert.ErrorIs(t, err, ErrBadOption)
		})
	}
}

// assertNoWaitingNames checks, on each loop, that nothing of a handshake
// (a certificate name among it) is left once every handshake is over.
func assertNoWaitingNames(t *testing.T, srv *testServer) {
	t.Helper()
	eventually(t, func() bool {
		for _, lp := range srv.loopList() {
			n := make(chan int, 1)
			err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { n <- len(lp.hs); return nil }))
			if err != nil || <-n != 0 {
				return false
			}
		}
		return true
	}, "certificate names left behind")
}

// A connection refused once its PROXY header named the address (the
// per-IP handshake cap here; an address ban alike) leaves nothing of its
// certificate behind on its loop: its OnClose finds no session, so the
// refusal itself must drop what the header kept.
func TestRefusedAfterProxyHeaderLeavesNoCertificateBehind(t *testing.T) {
	srv := certServer(t, WithMaxHandshakesPerIP(1))
	first := srv.dial(t)
	first.Send(string(proxyV2(t, "203.0.113.20", verifiedCert("cn-first"))))
	first.Expect("110 password")
	for range 3 {
		c := srv.dial(t)
		c.Send(string(proxyV2(t, "203.0.113.20", verifiedCert("cn-refused"))))
		assert.Equal(t, []string{closeLine(protocol.ReasonServerFull)}, transcript(t, c))
	}
	require.NoError(t, first.Conn.Close())
	assertNoWaitingNames(t, srv)
}
