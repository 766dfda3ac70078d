package webhook

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/internal/testkit"
)

// TestDirectAddr: the deliverer dials the URL's host and port, or the
// scheme's port.
func TestDirectAddr(t *testing.T) {
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	l, _ := tempLog(t)
	for url, want := range map[string]string{
		"http://127.0.0.1:9/hook":   "127.0.0.1:9",
		"http://example.net/hook":   "example.net:80",
		"https://example.net/hook":  "example.net:443",
		"https://[::1]:8443/hook":   "[::1]:8443",
		"http://u:p@example.net/h?": "example.net:80",
	} {
		d, err := New(url, l, sg, nil)
		require.NoError(t, err)
		require.NotNil(t, d.direct, url)
		require.Equal(t, want, d.direct.addr, url)
		require.Equal(t, strings.HasPrefix(url, "https:"), d.direct.tls != nil, url)
	}
}

// TestDeliverHTTPS: an https receiver gets every event, signed, on the
// deliverer's own TLS connection; and through net/http's Transport, the
// path of a receiver behind a proxy from the environment.
func TestDeliverHTTPS(t *testing.T) {
	for _, path := range []string{"direct", "transport"} {
		t.Run(path, func(t *testing.T) {
			l, dir := tempLog(t)
			rc := &receiver{t: t, secret: vectorSecret}
			rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
			t.Cleanup(rc.srv.Close)
			sg, err := ParseSecrets(vectorSecret)
			require.NoError(t, err)
			d, err := New(rc.srv.URL+"/hook", l, sg, openCursor(t, dir, rc.srv.URL), WithBatch(7),
				WithLinger(10*time.Millisecond), WithLogger(zaptest.NewLogger(t)))
			require.NoError(t, err)
			roots := rc.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			if path == "direct" {
				d.direct.tls.RootCAs = roots
			} else {
				d.direct = nil
				d.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: roots}
			}
			r := runDeliverer(t, d)
			eventually(t, func() bool { return r.d.Delivering() }, "delivering")
			appendN(t, l, 30)
			eventually(t, func() bool { return len(seqsOf(rc.requests(), all)) >= 30 }, "all 30 events delivered")
			require.Equal(t, seqRange(1, 30), seqsOf(rc.requests(), all))
			for _, q := range rc.requests() {
				require.True(t, q.verified, "signature of %s", q.id)
			}
			require.Zero(t, metricValue(t, r.d, MetricRequests, ResultError))
		})
	}
}

// TestDirectHTTPSChecksTheCertificate: a receiver whose certificate the
// system does not trust gets nothing, and the tries count as errors.
func TestDirectHTTPSChecksTheCertificate(t *testing.T) {
	l, dir := tempLog(t)
	rc := &receiver{t: t, secret: vectorSecret}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithLinger(10*time.Millisecond))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return metricValue(t, r.d, MetricRequests, ResultError) >= 2 }, "tries refused")
	require.Empty(t, rc.requests())
}

// TestDirectResendsOnAConnectionClosedWhileIdle: a receiver that closes
// kept connections after a while does not make a request fail: it goes
// again at once on a new connection.
func TestDirectResendsOnAConnectionClosedWhileIdle(t *testing.T) {
	l, dir := tempLog(t)
	rc := &receiver{t: t, secret: vectorSecret}
	var closed atomic.Int32
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Config.IdleTimeout = 20 * time.Millisecond
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	r := deliveringTo(t, rc, l, dir)
	require.NotNil(t, r.d.direct)
	for round := int32(1); round <= 3; round++ {
		appendN(t, l, 1)
		eventually(t, func() bool { return metricValue(t, r.d, MetricRequests, ResultOK) == float64(round) }, "batch %d acknowledged", round)
		eventually(t, func() bool { return closed.Load() >= round }, "the receiver closed the idle connection")
	}
	require.Zero(t, metricValue(t, r.d, MetricRequests, ResultError), "a closed idle connection failed a try")
	require.Equal(t, seqRange(1, 3), seqsOf(rc.requests(), all))
}

// TestDirectSendsTheURLsCredentials: user:password in the URL is sent as
// Basic authorization, as http.Client does.
func TestDirectSendsTheURLsCredentials(t *testing.T) {
	l, dir := tempLog(t)
	got := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		got <- user + ":" + pw
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	url := strings.Replace(srv.URL, "http://", "http://hook-user:s3cret@", 1) + "/hook"
	r := startDeliverer(t, url, l, openCursor(t, dir, url), WithLinger(10*time.Millisecond))
	require.NotNil(t, r.d.direct)
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	require.Equal(t, "hook-user:s3cret", testkit.Recv(t, got, 20*time.Second, "no request"))
}

// TestDirectStopsAHangingRequest: stopping the deliverer ends a request
// the receiver holds, long before its timeout.
func TestDirectStopsAHangingRequest(t *testing.T) {
	l, dir := tempLog(t)
	release := make(chan struct{})
	rc := newReceiver(t, func(int, http.ResponseWriter) { <-release })
	t.Cleanup(func() { close(release) })
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithLinger(10*time.Millisecond), WithTimeout(time.Minute))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return len(rc.requests()) == 1 }, "the request is held")
	start := time.Now()
	require.NoError(t, r.halt())
	require.Less(t, time.Since(start), 10*time.Second, "halt waited for the held request")
}

// TestDirectBoundsTheAnswer: a receiver whose answer's headers run past
// maxAnswer does not get its batch acknowledged, and cliser holds no more
// of it than that: the tries fail.
func TestDirectBoundsTheAnswer(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("X-Big", strings.Repeat("x", 2<<20))
		w.WriteHeader(http.StatusOK)
	})
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithLinger(10*time.Millisecond))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return metricValue(t, r.d, MetricRequests, ResultError) >= 2 }, "tries fail")
	require.Zero(t, r.d.Acked())
	require.Zero(t, metricValue(t, r.d, MetricRequests, ResultOK))
}

// TestDirectStopsATryOfAnotherCtx: the connection watches the ctx it was
// made for; a try with another ctx (a new delivering run) is stopped by
// that one's end, not left to the timeout.
func TestDirectStopsATryOfAnotherCtx(t *testing.T) {
	l, _ := tempLog(t)
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 2 {
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	})
	t.Cleanup(func() { close(release) })
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	d, err := New(rc.srv.URL+"/hook", l, sg, nil, WithTimeout(time.Minute))
	require.NoError(t, err)
	appendN(t, l, 1)
	batch, err := d.read(t.Context(), nil, 0, 1)
	require.NoError(t, err)
	require.NoError(t, d.send(t.Context(), batch), "the first try, on a new connection")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.send(ctx, batch) }()
	eventually(t, func() bool { return len(rc.requests()) == 2 }, "the second try is held")
	start := time.Now()
	cancel()
	require.ErrorIs(t, testkit.Recv(t, done, 10*time.Second, "the held try did not stop"), context.Canceled)
	require.Less(t, time.Since(start), 10*time.Second)
}
