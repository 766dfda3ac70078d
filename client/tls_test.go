package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// selfSignedTLS makes a server certificate for 127.0.0.1 and a client
// config that trusts its CA alone.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ca := testkit.NewCA(t)
	cert := ca.Issue(t, "127.0.0.1")
	server = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	client = &tls.Config{RootCAs: ca.Pool()}
	return server, client
}

func TestDialOverTLS(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	require.NoError(t, err)
	echoes := make(chan string, 1)
	srv := serveScript(t, ln, func(c *scriptConn) {
		if _, _, ok := c.handshake("21"); ok {
			c.send("100 42\n")
			line, _ := c.readLine()
			echoes <- line
			c.waitEOF()
		}
	})
	cfg := testConfig(srv.addr())
	cfg.TLS = clientTLS
	conn := dialT(t, cfg)
	assert.Equal(t, uint16(21), conn.SID())
	assert.Equal(t, "100 42", <-echoes)

	// Without trust in the server's certificate the dial fails.
	cfg.TLS = &tls.Config{}
	_, err = Dial(t.Context(), cfg)
	assert.Error(t, err)
}

// A certificate that does not verify is fixed by an operator, so the
// disconnected line says which setting mends it, not only Go's words
// (found by the agent audit: "certificate signed by unknown authority"
// named neither --tls-ca nor --tls-server-name).
func TestTLSFailuresSayWhatToFix(t *testing.T) {
	serverTLS, trusting := selfSignedTLS(t)
	tlsLn, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tlsLn.Close() })
	go acceptAndClose(tlsLn, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = plainLn.Close() })
	go acceptAndClose(plainLn, func(c net.Conn) { _, _ = c.Write([]byte("110 password\n")) })
	alertLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = alertLn.Close() })
	go acceptAndClose(alertLn, func(c net.Conn) { _, _ = c.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a}) })
	silentLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = silentLn.Close() })
	go acceptAndClose(silentLn, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // waits for more of a ClientHello

	// A terminator that verifies clients: TLS 1.3's refusal of a client
	// certificate comes after the handshake, on the client's first read.
	fleet := testkit.NewCA(t)
	mtlsServer := serverTLS.Clone()
	mtlsServer.ClientAuth, mtlsServer.ClientCAs = tls.RequireAndVerifyClientCert, fleet.Pool()
	mtlsLn, err := tls.Listen("tcp", "127.0.0.1:0", mtlsServer)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mtlsLn.Close() })
	go acceptAndClose(mtlsLn, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	withCert := func(c testkit.Cert) *tls.Config {
		cfg := trusting.Clone()
		cfg.ServerName, cfg.Certificates = "127.0.0.1", []tls.Certificate{c.TLS}
		return cfg
	}

	otherCA := testkit.NewCA(t).Pool()
	for _, tc := range []struct {
		name string
		addr string
		tls  *tls.Config
		fix  string
	}{
		{"wrong name", tlsLn.Addr().String(), &tls.Config{RootCAs: trusting.RootCAs, ServerName: "other.test"}, "--tls-server-name"},
		{"system roots", tlsLn.Addr().String(), &tls.Config{ServerName: "127.0.0.1"}, "give its certificate with --tls-ca FILE"},
		{"another CA", tlsLn.Addr().String(), &tls.Config{RootCAs: otherCA, ServerName: "127.0.0.1"}, "no CA in --tls-ca"},
		{"plain server", plainLn.Addr().String(), &tls.Config{RootCAs: trusting.RootCAs, ServerName: "127.0.0.1"}, "does not speak TLS"},
		// Go's TLS server closes without a word; OpenSSL's terminators
		// may answer with an alert (this one's last byte is a newline).
		{"TLS server, plain client", tlsLn.Addr().String(), nil, "TLS terminator's port, add --tls"},
		{"TLS alert, plain client", alertLn.Addr().String(), nil, "the server speaks TLS: add --tls"},
		{"silent server, plain client", silentLn.Addr().String(), nil, "TLS terminator's port, add --tls"},
		// A TLS client at a port that takes the connection and says
		// nothing (a frozen server, a terminator whose backend is down).
		{"silent server, TLS client", silentLn.Addr().String(), &tls.Config{RootCAs: trusting.RootCAs, ServerName: "127.0.0.1"},
			"did not finish the TLS handshake"},
		{"no client certificate", mtlsLn.Addr().String(), &tls.Config{RootCAs: trusting.RootCAs, ServerName: "127.0.0.1"},
			"wants a client certificate: give --tls-cert and --tls-key"},
		{"a client certificate of another CA", mtlsLn.Addr().String(), withCert(testkit.NewCA(t).IssueClient(t, "dev-1")),
			"refused the client certificate of --tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.addr)
			cfg.TLS, cfg.DialTimeout = tc.tls, time.Second
			// A TLS handshake that fails is a dial that failed; a client
			// certificate refused after it, a session lost.
			failed := func(logs *observer.ObservedLogs) *observer.ObservedLogs {
				return logs.Filter(func(e observer.LoggedEntry) bool {
					return e.Message == "disconnected" || e.Message == "could not connect"
				})
			}
			logs, _, _ := runWarning(t, cfg, Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}, 5*time.Second,
				func(logs *observer.ObservedLogs) bool { return failed(logs).Len() > 0 })
			line := failed(logs).All()[0].ContextMap()
			assert.Contains(t, line["fix"], tc.fix, "error: %v", line["error"])
		})
	}
}

func acceptAndClose(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		serve(c)
		_ = c.Close()
	}
}

// tlsSource is what a CA bundle on disk says over time: a config, none,
// or a failure to read it.
type tlsSource struct {
	cfg   atomic.Pointer[tls.Config]
	err   atomic.Pointer[error]
	reads atomic.Int64
}

func (s *tlsSource) read() (*tls.Config, error) {
	s.reads.Add(1)
	if err := s.err.Load(); err != nil {
		return nil, *err
	}
	return s.cfg.Load(), nil
}

// A CA renewed on disk is trusted from the next attempt on (ReadTLS),
// without a restart; a bundle that cannot be read, or gives no config,
// keeps the config of before and says so once, not at each attempt.
func TestRunReadsTheTLSConfigAgainBeforeEachAttempt(t *testing.T) {
	serverTLS, trusting := selfSignedTLS(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	require.NoError(t, err)
	srv := serveScript(t, ln, func(c *scriptConn) {
		if _, _, ok := c.handshake("7"); ok {
			c.waitEOF()
		}
	})
	var src tlsSource
	readErr := errors.New("open ca.pem: permission denied")
	src.err.Store(&readErr)
	core, logs := observer.New(zapcore.InfoLevel)
	cfg := testConfig(srv.addr())
	cfg.TLS = &tls.Config{RootCAs: testkit.NewCA(t).Pool()} // the old CA
	cfg.ReadTLS, cfg.Logger = src.read, zap.New(core)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, cfg, Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond}, &l)

	require.Eventually(t, func() bool { return src.reads.Load() >= 3 }, 10*time.Second, time.Millisecond)
	src.err.Store(nil) // no error, and no config: still a failure
	n := src.reads.Load()
	require.Eventually(t, func() bool { return src.reads.Load() >= n+3 }, 10*time.Second, time.Millisecond)
	assert.Zero(t, l.connected(), "the old CA does not verify the server")
	assert.Equal(t, 1, logs.FilterMessage("the TLS settings cannot be read again; the attempts use the ones read before").Len(),
		"said once while it fails")

	src.cfg.Store(trusting)
	require.Eventually(t, func() bool { return l.connected() == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 1, logs.FilterMessage("the TLS settings read again").Len())
	assert.Equal(t, 1, logs.FilterMessage("the trusted CAs changed; this attempt verifies with the new ones").Len())
	cancel()
	require.ErrorIs(t, testkit.Recv(t, done, 10*time.Second, "Run did not return"), context.Canceled)
}

// A deadline that ended in cliser's own handshake, after TLS, is no TLS
// handshake that did not finish (late review): only a dial's is.
func TestTLSHandshakeHintIsForTheDialOnly(t *testing.T) {
	cfg := &tls.Config{ServerName: "127.0.0.1"}
	assert.Empty(t, tlsFix(fmt.Errorf("%w: %w", ErrHandshake, context.DeadlineExceeded), cfg))
	assert.Contains(t, tlsFix(fmt.Errorf("%w 127.0.0.1:1: %w", ErrDial, context.DeadlineExceeded), cfg),
		"did not finish the TLS handshake")
}

// Only a TLS record's start (0x15 or 0x16, then version 3.x) is taken
// for a server that speaks TLS: another answer that begins with such a
// byte is bad input from the server, the bytes quoted, not advice to add
// --tls. A mutation audit dropped the version byte's check with every
// test passing.
func TestOnlyATLSRecordReadsAsTLS(t *testing.T) {
	srv := newScriptedServer(t, func(c *scriptConn) {
		if _, ok := c.readLine(); !ok {
			return
		}
		c.send("\x16\x01 not a record\n")
		c.waitEOF()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, testConfig(srv.addr()))
	require.ErrorIs(t, err, ErrBadServer)
	assert.NotErrorIs(t, err, errSpeaksTLS)
}

// A certificate out of its validity (here: the client's clock two days
// ahead of the one-day certificate) is told to renew it or check the
// clock; a certificate invalid for another reason is not. A mutation
// audit gave the expiry advice to every invalid certificate with every
// test passing; no test had an expired one.
func TestTLSFixNamesOnlyAnExpiredCertificateSo(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go acceptAndClose(ln, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	clientTLS.ServerName = "127.0.0.1"
	clientTLS.Time = func() time.Time { return time.Now().Add(48 * time.Hour) }
	cfg := testConfig(ln.Addr().String())
	cfg.TLS = clientTLS
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Dial(ctx, cfg)
	require.Error(t, err)
	assert.Contains(t, tlsFix(err, clientTLS), "expired or not yet valid: renew it", "error: %v", err)

	usage := &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.IncompatibleUsage}}
	assert.NotContains(t, tlsFix(fmt.Errorf("%w: %w", ErrDial, usage), clientTLS), "expired")
}
