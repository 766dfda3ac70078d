package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// newTestPKI makes a throwaway CA and a server certificate for dnsName (and
// no IP address, so a client that verifies "127.0.0.1" must fail), and
// writes the CA to a file for --tls-ca.
func newTestPKI(t *testing.T, dnsName string) (server testkit.Cert, caFile string) {
	t.Helper()
	ca := testkit.NewCA(t)
	return ca.Issue(t, dnsName), ca.WriteFile(t, t.TempDir())
}

// tlsTerminator is what HAProxy does in front of cliser, in a few lines:
// it accepts TLS on 127.0.0.1:0 and, once a client completed the TLS
// handshake, pipes the plaintext to backend both ways. The backend sees no
// connection from a client whose handshake failed.
type tlsTerminator struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
	proxied int // connections piped to the backend
}

func startTLSTerminator(t *testing.T, cert tls.Certificate, backend string) *tlsTerminator {
	t.Helper()
	return startTLSTerminatorWith(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, backend)
}

// startTLSTerminatorWith is startTLSTerminator on cfg: one that verifies
// clients' certificates, say.
func startTLSTerminatorWith(t *testing.T, cfg *tls.Config, backend string) *tlsTerminator {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	tt := &tlsTerminator{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	tt.wg.Add(1)
	go tt.acceptLoop()
	t.Cleanup(tt.close)
	return tt
}

func (tt *tlsTerminator) addr() string { return tt.ln.Addr().String() }

// track remembers c so close can end it; false once the terminator closed.
func (tt *tlsTerminator) track(c net.Conn) bool {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.closed {
		return false
	}
	tt.conns[c] = struct{}{}
	return true
}

func (tt *tlsTerminator) proxiedCount() int {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.proxied
}

func (tt *tlsTerminator) acceptLoop() {
	defer tt.wg.Done()
	for {
		c, err := tt.ln.Accept()
		if err != nil {
			return
		}
		if !tt.track(c) {
			_ = c.Close()
			return
		}
		tt.wg.Add(1)
		go tt.serve(c.(*tls.Conn))
	}
}

func (tt *tlsTerminator) serve(front *tls.Conn) {
	defer tt.wg.Done()
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := front.HandshakeContext(ctx); err != nil {
		return
	}
	back, err := net.Dial("tcp", tt.backend)
	if err != nil {
		return
	}
	defer back.Close()
	if !tt.track(back) {
		return
	}
	tt.mu.Lock()
	tt.proxied++
	tt.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Either side ending ends the pair, as a TCP proxy does.
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go pipe(back, front)
	go pipe(front, back)
	<-done
	<-done
}

func (tt *tlsTerminator) close() {
	tt.mu.Lock()
	tt.closed = true
	for c := range tt.conns {
		_ = c.Close()
	}
	tt.mu.Unlock()
	_ = tt.ln.Close()
	tt.wg.Wait()
}

func TestAgentBinaryTLSThroughTerminatorRegistersAndObeysShutdown(t *testing.T) {
	srv, reg := agentServer(t)
	server, caFile := newTestPKI(t, "cliser.test")
	front := startTLSTerminator(t, server.TLS, srv.Addr())

	// By flags.
	byFlags := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword},
		"--server", front.addr(), "--id", "tls-agent-flags",
		"--tls", "--tls-ca", caFile, "--tls-server-name", "cliser.test")
	// By the environment only; CLISER_TLS_CA implies TLS.
	byEnv := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword,
		"CLISER_SERVER=" + front.addr(), "CLISER_ID=tls-agent-env",
		"CLISER_TLS_CA=" + caFile, "CLISER_TLS_SERVER_NAME=cliser.test"})
	// A flag wins over a wrong name in the environment.
	flagWins := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword,
		"CLISER_TLS=true", "CLISER_TLS_SERVER_NAME=wrong.test"},
		"--server", front.addr(), "--id", "tls-agent-flagwins",
		"--tls-ca", caFile, "--tls-server-name", "cliser.test")

	agents := map[string]*testkit.Process{"tls-agent-flags": byFlags, "tls-agent-env": byEnv, "tls-agent-flagwins": flagWins}
	for id, p := range agents {
		require.Eventually(t, connectedRecord(reg, id), 10*time.Second, 10*time.Millisecond, id+":\n"+p.LogText())
	}
	// Every session came through the terminator: the reactor saw the
	// terminator's backend side, never the agents directly.
	assert.Equal(t, 3, front.proxiedCount())

	for id, p := range agents {
		conn, err := reg.Conn(id)
		require.NoError(t, err)
		require.NoError(t, conn.Shutdown("tls maintenance"))
		assert.Equal(t, 0, p.Wait(t), id+":\n"+p.LogText())
		rec, _ := reg.Get(id)
		assert.False(t, rec.CStatus, id)
		assert.Equal(t, protocol.ReasonShutdown, rec.Reason, id)

		logs := p.LogText()
		assert.Contains(t, logs, `"msg":"TLS on"`, id)
		assert.Contains(t, logs, `"server_name":"cliser.test"`, id)
		assert.Contains(t, logs, `"trusted_cas":"`+caFile+`"`, id)
		assert.Contains(t, logs, `"text":"tls maintenance"`, id)
		assert.NotContains(t, logs, agentTestPassword, id)
	}
}

func TestAgentBinaryTLSCertificateMismatchKeepsRetrying(t *testing.T) {
	srv, reg := agentServer(t)
	server, caFile := newTestPKI(t, "cliser.test")
	front := startTLSTerminator(t, server.TLS, srv.Addr())

	cases := []struct {
		name string
		args []string
		want string // in the logged certificate error
	}{
		// The certificate is for cliser.test.
		{"wrong server name", []string{"--tls-ca", caFile, "--tls-server-name", "wrong.test"},
			"x509: certificate is valid for cliser.test, not wrong.test"},
		// No --tls-server-name: the name verified is --server's host.
		{"default name is the host of --server", []string{"--tls", "--tls-ca", caFile},
			"x509: cannot validate certificate for 127.0.0.1"},
		// No --tls-ca: the system roots do not trust a throwaway CA.
		{"system roots", []string{"--tls", "--tls-server-name", "cliser.test"},
			"x509: certificate signed by unknown authority"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("tls-bad-%d", i)
			p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword},
				append([]string{"--server", front.addr(), "--id", id,
					"--backoff-min", "10ms", "--backoff-max", "200ms"}, c.args...)...)
			// It keeps trying: several attempts, each failing on the certificate.
			require.Eventually(t, func() bool {
				return strings.Count(p.LogText(), c.want) >= 3
			}, 15*time.Second, 10*time.Millisecond, p.LogText())
			logs := p.LogText()
			assert.Contains(t, logs, `"msg":"could not connect"`, "the TLS handshake is the dial's")
			assert.Contains(t, logs, `"msg":"retrying"`)
			assert.NotContains(t, logs, `"msg":"registered"`)
			_, known := reg.Get(id)
			assert.False(t, known, "an agent that failed TLS verification reached the registry")
			p.RequireRunning(t, "agent exited after a certificate error")
			assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
		})
	}
	// No failed handshake reached the reactor.
	assert.Equal(t, 0, front.proxiedCount())
}

// caFileMistakes are --tls-ca files that trust nothing: junk, and a
// certificate block that holds no certificate.
var caFileMistakes = struct{ garbage, corrupt []byte }{
	garbage: []byte("this is not a certificate\n"),
	corrupt: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}),
}

func TestAgentBinaryTLSConfigMistakesExitTwo(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, caFileMistakes.garbage, 0o600))
	corrupt := filepath.Join(dir, "corrupt.pem")
	require.NoError(t, os.WriteFile(corrupt, caFileMistakes.corrupt, 0o600))
	missing := filepath.Join(dir, "missing.pem")
	pw := []string{"CLISER_PASSWORD=" + agentTestPassword}
	base := []string{"--server", "127.0.0.1:1", "--id", "a"}

	cases := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"garbage CA file", pw, []string{"--tls-ca", garbage}, []string{garbage, "no PEM certificate"}},
		{"garbage CA file from env", append([]string{"CLISER_TLS_CA=" + garbage}, pw...), nil, []string{garbage, "no PEM certificate"}},
		{"corrupt certificate", pw, []string{"--tls", "--tls-ca", corrupt}, []string{corrupt, "certificate 1"}},
		{"missing CA file", pw, []string{"--tls-ca", missing}, []string{"--tls-ca", missing, "no such file"}},
		{"tls off but a CA given", pw, []string{"--tls=false", "--tls-ca", garbage}, []string{"--tls=false contradicts"}},
		{"bad CLISER_TLS", append([]string{"CLISER_TLS=maybe"}, pw...), nil, []string{"CLISER_TLS"}},
		{"no host for the server name", pw, []string{"--server", ":7070", "--tls"}, []string{"--tls-server-name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, code := testkit.Run(t, testkit.Environ([]string{"CLISER_PASSWORD"}, c.env...), append(append([]string{"agent"}, base...), c.args...)...)
			assert.Equal(t, 2, code, out)
			for _, w := range c.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

// The TLS config itself: TLS 1.2 at least, verification on, the name.
func TestAgentTLSConfig(t *testing.T) {
	off, err := agentTLS{}.config("h:1", false)
	require.NoError(t, err)
	assert.Nil(t, off, "no TLS flag, no TLS")

	cfg, err := agentTLS{enabled: true}.config("cliser.example.net:7443", false)
	require.NoError(t, err)
	require.NotNil(t, cfg)
	assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	assert.Equal(t, "cliser.example.net", cfg.ServerName)
	assert.False(t, cfg.InsecureSkipVerify)
	assert.Nil(t, cfg.RootCAs, "system roots without --tls-ca")

	cfg, err = agentTLS{serverName: "other.example"}.config("[::1]:7443", false)
	require.NoError(t, err)
	require.NotNil(t, cfg, "--tls-server-name implies TLS")
	assert.Equal(t, "other.example", cfg.ServerName)

	server, caFile := newTestPKI(t, "cliser.test")
	cfg, err = agentTLS{caFile: caFile}.config("10.0.0.1:7443", false)
	require.NoError(t, err)
	require.NotNil(t, cfg, "--tls-ca implies TLS")
	assert.Equal(t, "10.0.0.1", cfg.ServerName)
	require.NotNil(t, cfg.RootCAs)
	// The pool trusts the throwaway CA: the server certificate verifies.
	leaf, err := x509.ParseCertificate(server.TLS.Certificate[0])
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "cliser.test", Roots: cfg.RootCAs})
	assert.NoError(t, err)

	_, err = agentTLS{caFile: "x"}.config("h:1", true)
	assert.ErrorContains(t, err, "contradicts")
}

// FuzzLoadCABundle: any --tls-ca file is a pool or a configError that
// names the file, never a panic. A pool trusts what Go's own reading of
// the bundle trusts; a refusal is a bundle with no certificate Go finds,
// or one whose certificate block holds no certificate (which Go would skip
// and so trust less than the operator thinks). Seeded with a real CA and
// the CA files of TestAgentBinaryTLSConfigMistakesExitTwo.
func FuzzLoadCABundle(f *testing.F) {
	ca := testkit.NewCA(f)
	f.Add(ca.PEM)
	f.Add(append(append([]byte("# bundle\n"), ca.PEM...), testkit.NewCA(f).PEM...))
	f.Add(append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("k")}), ca.PEM...))
	f.Add(caFileMistakes.garbage)
	f.Add(caFileMistakes.corrupt)
	f.Add(append(append([]byte{}, ca.PEM...), caFileMistakes.corrupt...))
	f.Add([]byte{})
	path := filepath.Join(f.TempDir(), "ca.pem")
	f.Fuzz(func(t *testing.T, raw []byte) {
		require.NoError(t, os.WriteFile(path, raw, 0o600))
		pool, err := loadCABundle(path)
		std := x509.NewCertPool()
		found := std.AppendCertsFromPEM(raw)
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), path) {
				t.Fatalf("%q: %v is no configError naming the file", raw, err)
			}
			if found && !unparsedCertificate(raw) {
				t.Fatalf("%q refused (%v), Go reads certificates in it", raw, err)
			}
			return
		}
		if pool == nil || unparsedCertificate(raw) {
			t.Fatalf("%q taken (pool %v), a certificate block in it holds none", raw, pool != nil)
		}
		if !headered(raw) && (!found || !pool.Equal(std)) {
			t.Fatalf("%q: the pool is not the one Go reads (found any: %v)", raw, found)
		}
	})
}

// unparsedCertificate: a CERTIFICATE block of b holds no certificate.
func unparsedCertificate(b []byte) bool {
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(block.Bytes); err != nil {
				return true
			}
		}
	}
	return false
}

// headered: a CERTIFICATE block of b has PEM headers, which Go's reading
// skips and loadCABundle does not.
func headered(b []byte) bool {
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" && len(block.Headers) > 0 {
			return true
		}
	}
	return false
}
