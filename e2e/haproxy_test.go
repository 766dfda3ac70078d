package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// TLS in front of cliser, as docs/tls.md tells it: client (the Go client
// package, then the built `cliser agent --tls-ca`) -> TLS -> HAProxy
// (terminates TLS) -> PROXY protocol v2 -> `cliser serve --proxy-protocol`
// (the built binary). The registry must show the
// client's own address, not HAProxy's; keep-alives, a 130 order and the
// server's drain must all pass through.

// haproxyConfig is the configuration docs/tls.md shows, with test paths
// and ports filled in.
const haproxyConfig = `global
    # Two file descriptors per client (one each side): raise the
    # open-files limit to match.
    maxconn {{.MaxConn}}
    nbthread 1
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode tcp
    timeout connect 5s
    # Longer than cliser's keep-alive interval plus timeout, or HAProxy
    # would cut idle-looking sessions between two keep-alives.
    timeout client 2m
    timeout server 2m

frontend cliser_tls
    bind {{.Front}} ssl crt {{.PEM}}
    default_backend cliser

backend cliser
{{- if .Source}}
    source {{.Source}}
{{- end}}
    server cliser {{.Cliser}} send-proxy-v2
`

const tlsServerName = "cliser.example"

func TestTLSThroughHAProxy(t *testing.T) {
	haproxy := haproxyOrSkip(t, "the TLS-in-front test")
	const password = "tls-s3cret-5521"
	cliser, api := serveBehindHAProxy(t, password)

	dir := t.TempDir()
	caPool, caPath, pemPath := writeTestPKI(t, dir)
	front := testkit.FreeAddr(t)
	startHAProxy(t, haproxy, dir, haproxyConfig,
		map[string]string{"Front": front, "PEM": pemPath, "Cliser": cliser.Addr, "MaxConn": "1000",
			// HAProxy's side of the backend connection gets an address of its
			// own, so that cip proves it came from the PROXY header.
			"Source": "127.0.0.9"})

	tlsCfg := &tls.Config{RootCAs: caPool, ServerName: tlsServerName, MinVersion: tls.VersionTLS12}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Register through the chain; the keep-alive echoes are counted from
	// the client's debug log.
	core, clientLogs := observer.New(zapcore.DebugLevel)
	shutdownText := make(chan string, 1)
	conn, err := client.Dial(ctx, client.Config{Addr: front, Password: password, ID: "tls-device-1", TLS: tlsCfg,
		Logger: zap.New(core), OnShutdown: func(text string) { shutdownText <- text }})
	require.NoError(t, err, "handshake through TLS and HAProxy")
	require.NotZero(t, conn.SID())
	rec, err := api.Get(ctx, "tls-device-1")
	require.NoError(t, err)
	host, port, err := net.SplitHostPort(conn.LocalAddr().String())
	require.NoError(t, err)
	assert.True(t, rec.CStatus)
	assert.Equal(t, conn.SID(), rec.SID)
	assert.Equal(t, host, rec.CIP, "cip must be the client's address, from the PROXY header")
	assert.Equal(t, port, rec.CPort, "cport must be the client's port, not HAProxy's")

	require.Eventually(t, func() bool {
		return clientLogs.FilterMessage("keep-alive answered").Len() >= 5
	}, 10*time.Second, 10*time.Millisecond, "keep-alives do not flow through HAProxy")
	select {
	case <-conn.Done():
		t.Fatalf("session ended: %v", conn.Wait())
	default:
	}

	// A 130 order goes through, and its ack comes back.
	_, err = api.Shutdown(ctx, "tls-device-1", "maintenance window")
	require.NoError(t, err)
	select {
	case text := <-shutdownText:
		assert.Equal(t, "maintenance window", text)
	case <-ctx.Done():
		t.Fatal("no shutdown order arrived through HAProxy")
	}
	assert.ErrorIs(t, conn.Wait(), client.ErrShutdown)
	require.Eventually(t, func() bool {
		rec, err := api.Get(ctx, "tls-device-1")
		return err == nil && !rec.CStatus && rec.Reason == "shutdown"
	}, 5*time.Second, 10*time.Millisecond)

	// A client that does not trust the certificate, and one that does not
	// speak TLS at all, get nowhere.
	untrusted := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: tlsServerName}
	_, err = client.Dial(ctx, client.Config{Addr: front, Password: password, ID: "tls-untrusted", TLS: untrusted, HandshakeTimeout: 3 * time.Second})
	var unknownCA x509.UnknownAuthorityError
	assert.True(t, errors.As(err, &unknownCA), "want an unknown-authority error, got %v", err)
	_, err = client.Dial(ctx, client.Config{Addr: front, Password: password, ID: "tls-plaintext", HandshakeTimeout: 3 * time.Second})
	assert.Error(t, err, "a plaintext client registered through the TLS port")
	for _, id := range []string{"tls-untrusted", "tls-plaintext"} {
		_, err := api.Get(ctx, id)
		assert.Error(t, err, "%s must not be in the registry", id)
	}

	// The bundled agent, the built binary, is the TLS client just as well:
	// it registers (cip is the agent's loopback address, not the source
	// HAProxy uses towards cliser) and a 130 order makes it exit 0.
	agent := testkit.Start(t, testkit.Environ(nil, "CLISER_PASSWORD="+password), "agent", "--server", front,
		"--id", "tls-agent-1", "--tls-ca", caPath, "--tls-server-name", tlsServerName, "--backoff-min", "50ms")
	require.Eventually(t, func() bool {
		rec, err := api.Get(ctx, "tls-agent-1")
		return err == nil && rec.CStatus
	}, 15*time.Second, 20*time.Millisecond, "the agent did not register through HAProxy:\n%s", agent.LogText())
	rec, err = api.Get(ctx, "tls-agent-1")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", rec.CIP, "cip must be the agent's address, from the PROXY header")
	_, err = api.Shutdown(ctx, "tls-agent-1", "agent test over")
	require.NoError(t, err)
	require.Equal(t, 0, agent.Wait(t), "the agent must exit 0 after a shutdown order:\n%s", agent.LogText())
	assert.NotContains(t, agent.LogText(), password, "the agent logged its password")

	// The server's drain reaches the client through HAProxy.
	second, err := client.Dial(ctx, client.Config{Addr: front, Password: password, ID: "tls-device-2", TLS: tlsCfg})
	require.NoError(t, err)
	cliser.Terminate(t)
	assert.ErrorIs(t, second.Wait(), client.ErrServerShuttingDown)
	cliser.WaitExit(t)
	require.NoError(t, cliser.ExitErr, cliser.LogText())
	assert.NotContains(t, cliser.LogText(), password, "a password reached the logs")
}

// writeTestPKI makes a throwaway CA and a server certificate for
// tlsServerName (and 127.0.0.1) signed by it; it writes the certificate
// chain and key as one PEM file, the form HAProxy's "crt" wants, and
// returns the pool that trusts the CA and the CA's own PEM file (for the
// agent's --tls-ca).
func writeTestPKI(t *testing.T, dir string) (pool *x509.CertPool, caPath, pemPath string) {
	t.Helper()
	ca := testkit.NewCA(t)
	pemPath = ca.Issue(t, tlsServerName, "127.0.0.1").WriteBundle(t, dir, "cliser.pem")
	return ca.Pool(), ca.WriteFile(t, dir), pemPath
}

// serveBehindHAProxy runs `cliser serve --proxy-protocol` with password,
// fast keep-alives and the extra flags, and returns it with a client of
// its admin API.
func serveBehindHAProxy(t *testing.T, password string, extra ...string) (*testkit.Served, *admin.Client) {
	t.Helper()
	cliser := testkit.Serve(t, []string{"CLISER_PASSWORD=" + password, "CLISER_ADMIN_TOKEN="},
		append([]string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
			"--proxy-protocol", "--keepalive-interval", "200ms", "--keepalive-timeout", "3s"}, extra...)...)
	api, err := admin.NewClient(cliser.AdminURL(t), "", 5*time.Second)
	require.NoError(t, err)
	return cliser, api
}

// haproxyOrSkip is the path of the haproxy binary; without one the test
// (forWhat) is skipped, saying how to run it.
func haproxyOrSkip(t *testing.T, forWhat string) string {
	t.Helper()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skipf("haproxy is not on PATH: `apt-get install -y haproxy` to run %s (CI installs it)", forWhat)
	}
	return haproxy
}

// startHAProxy writes tmpl, filled with vals, as dir/haproxy.cfg and runs
// haproxy on it until the test ends; vals["Front"] is the bind it waits
// for.
func startHAProxy(t *testing.T, haproxy, dir, tmpl string, vals map[string]string) {
	t.Helper()
	var cfg bytes.Buffer
	require.NoError(t, template.Must(template.New("cfg").Parse(tmpl)).Execute(&cfg, vals))
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	require.NoError(t, os.WriteFile(cfgPath, cfg.Bytes(), 0o600))
	testkit.HAProxy(t, haproxy, cfgPath, vals["Front"])
}

// Identity from a client certificate, as docs/tls.md tells it: a Go TLS
// client with a client certificate -> HAProxy (verifies it against the
// fleet CA, sends its CN in the PROXY v2 header: send-proxy-v2-ssl-cn) ->
// `cliser serve --proxy-protocol --proxy-trusted <HAProxy> --require-cert-cn`
// (the built binary).

// certHAProxyConfig has two binds: "verify required", the recipe, and
// "verify optional" that lets a missing or foreign certificate through, so
// that cliser's own refusal of an unverified one is seen too.
const certHAProxyConfig = `global
    maxconn 100
    nbthread 1
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode tcp
    timeout connect 5s
    timeout client 2m
    timeout server 2m

frontend cliser_mtls
    bind {{.Front}} ssl crt {{.PEM}} ca-file {{.CA}} verify required
    default_backend cliser

frontend cliser_mtls_optional
    bind {{.FrontOptional}} ssl crt {{.PEM}} ca-file {{.CA}} verify optional ca-ignore-err all crt-ignore-err all
    default_backend cliser

backend cliser
    source {{.Source}}
    server cliser {{.Cliser}} send-proxy-v2-ssl-cn
`

// haproxySource is the address HAProxy speaks to cliser from: the only
// one in --proxy-trusted.
const haproxySource = "127.0.0.9"

func TestCertCNThroughHAProxy(t *testing.T) {
	haproxy := haproxyOrSkip(t, "the client-certificate test")
	const password = "cn-s3cret-8812"
	cliser, api := serveBehindHAProxy(t, password, "--proxy-trusted", haproxySource+"/32", "--require-cert-cn")

	dir := t.TempDir()
	ca := testkit.NewCA(t)
	serverPEM := ca.Issue(t, tlsServerName, "127.0.0.1").WriteBundle(t, dir, "cliser.pem")
	front, frontOptional := testkit.FreeAddr(t), testkit.FreeAddr(t)
	startHAProxy(t, haproxy, dir, certHAProxyConfig, map[string]string{
		"Front": front, "FrontOptional": frontOptional, "PEM": serverPEM, "CA": ca.WriteFile(t, dir),
		"Source": haproxySource, "Cliser": cliser.Addr,
	})

	device := ca.IssueClient(t, "cn-device-1")
	withCert := func(certs ...tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: ca.Pool(), ServerName: tlsServerName, MinVersion: tls.VersionTLS12, Certificates: certs}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The certificate's CN is the client ID: it registers, keep-alives flow.
	core, clientLogs := observer.New(zapcore.DebugLevel)
	conn, err := client.Dial(ctx, client.Config{Addr: front, Password: password, ID: "cn-device-1", TLS: withCert(device.TLS),
		Logger: zap.New(core)})
	require.NoError(t, err, "a matching certificate must register:\n%s", cliser.LogText())
	rec, err := api.Get(ctx, "cn-device-1")
	require.NoError(t, err)
	assert.True(t, rec.CStatus)
	assert.Equal(t, "127.0.0.1", rec.CIP, "cip comes from the trusted PROXY header")
	answered := func() int { return clientLogs.FilterMessage("keep-alive answered").Len() }
	waitKeepAlives := func() {
		t.Helper()
		before := answered()
		require.Eventually(t, func() bool { return answered() >= before+3 }, 10*time.Second, 10*time.Millisecond,
			"keep-alives stopped")
	}
	waitKeepAlives()

	authFailed := "190 " + protocol.ReasonAuthFailed.String()
	// The same certificate for another client ID.
	assert.Equal(t, []string{"110 password", "120 id", authFailed},
		tlsTranscript(t, front, withCert(device.TLS), password, "cn-device-2"))
	// Another device's certificate for this one's ID.
	assert.Equal(t, []string{"110 password", "120 id", authFailed},
		tlsTranscript(t, front, withCert(ca.IssueClient(t, "cn-device-3").TLS), password, "cn-device-1"))

	// No client certificate: HAProxy's "verify required" refuses the TLS
	// handshake, and nothing reaches cliser.
	lines, err := tlsLines(front, withCert(), password, "cn-device-1")
	assert.Error(t, err, "a connection without a client certificate got through")
	assert.Empty(t, lines)

	// Through the "verify optional" bind cliser sees them and refuses: no
	// certificate at all, and one from a CA the fleet does not trust
	// (HAProxy says verify != 0).
	assert.Equal(t, []string{"110 password", "120 id", authFailed},
		tlsTranscript(t, frontOptional, withCert(), password, "cn-device-1"))
	foreign := testkit.NewCA(t).IssueClient(t, "cn-device-1")
	assert.Equal(t, []string{"110 password", "120 id", authFailed},
		tlsTranscript(t, frontOptional, withCert(foreign.TLS), password, "cn-device-1"))
	// And the right certificate passes there too, so the refusals above
	// were for the certificate, not for the bind.
	assert.Equal(t, []string{"110 password", "120 id", "140"},
		firstWords(tlsTranscriptUntil(t, frontOptional, withCert(ca.IssueClient(t, "cn-device-4").TLS), password, "cn-device-4", "140 ")))

	// A forged header sent straight to cliser from an address outside
	// --proxy-trusted, claiming the device's verified certificate: refused
	// before anything else is said.
	forged := dialFrom(t, cliser.Addr, "127.0.0.1")
	forged.mustSend(string(sslCNHeader(t, "cn-device-1")) + "110 " + password + "\n120 cn-device-1\n")
	assert.Equal(t, []string{"190 " + protocol.ReasonProtocolError.String()}, forged.transcript(10*time.Second))

	// None of that disturbed the device's session.
	waitKeepAlives()
	select {
	case <-conn.Done():
		t.Fatalf("the device's session ended: %v", conn.Wait())
	default:
	}
	for _, id := range []string{"cn-device-2", "cn-device-3"} {
		_, err := api.Get(ctx, id)
		assert.Error(t, err, "%s must not be in the registry", id)
	}
	_ = conn.Close(ctx)
	agentWithCert(t, api, front, filepath.Join(dir, "ca.pem"), password, ca.IssueClient(t, "cn-agent-1"))
	assert.NotContains(t, cliser.LogText(), password, "a password reached the logs")
}

// agentWithCert runs the bundled agent, the built binary, with dev's
// certificate (--tls-cert, --tls-key) through front: as the ID of its CN
// it registers; as another ID it is refused, as it said at its start.
func agentWithCert(t *testing.T, api *admin.Client, front, caFile, password string, dev testkit.Cert) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, dev.ChainPEM, 0o644))
	require.NoError(t, os.WriteFile(keyFile, dev.KeyPEM, 0o600))
	env := testkit.Environ(nil, "CLISER_PASSWORD="+password)
	args := func(id string) []string {
		return []string{"agent", "--server", front, "--id", id, "--tls-ca", caFile, "--tls-server-name", tlsServerName,
			"--tls-cert", certFile, "--tls-key", keyFile, "--backoff-min", "50ms"}
	}
	agent := testkit.Start(t, env, args("cn-agent-1")...)
	impostor := testkit.Start(t, env, args("cn-agent-2")...)
	ctx := t.Context()
	require.Eventually(t, func() bool {
		rec, err := api.Get(ctx, "cn-agent-1")
		return err == nil && rec.CStatus
	}, 15*time.Second, 20*time.Millisecond, "the agent did not register with its certificate:\n%s", agent.LogText())
	require.Eventually(t, func() bool { return strings.Contains(impostor.LogText(), "190 auth failed") },
		15*time.Second, 20*time.Millisecond, "%s", impostor.LogText())
	logs := impostor.LogText()
	assert.Contains(t, logs, "the client certificate's CN is not --id")
	assert.Contains(t, logs, "that the client certificate's CN is this ID (a server with --require-cert-cn)")
	_, err := api.Get(ctx, "cn-agent-2")
	assert.Error(t, err, "the impostor is in the registry")
	_, err = api.Shutdown(ctx, "cn-agent-1", "cert test over")
	require.NoError(t, err)
	require.Equal(t, 0, agent.Wait(t), "the agent must exit 0 after a shutdown order:\n%s", agent.LogText())
}

// tlsTranscript dials front over TLS, answers both prompts at once and
// returns every line until the server closes.
func tlsTranscript(t *testing.T, front string, cfg *tls.Config, password, id string) []string {
	t.Helper()
	lines, err := tlsLines(front, cfg, password, id)
	require.NoError(t, err, "lines so far: %q", lines)
	return lines
}

// tlsTranscriptUntil is tlsTranscript that stops at the first line with
// prefix stop (a session that registers is not closed by the server).
func tlsTranscriptUntil(t *testing.T, front string, cfg *tls.Config, password, id, stop string) []string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", front, cfg)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("110 " + password + "\n120 " + id + "\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(c)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err, "lines so far: %q", lines)
		lines = append(lines, strings.TrimSuffix(line, "\n"))
		if strings.HasPrefix(line, stop) {
			return lines
		}
	}
}

// tlsLines is tlsTranscript's work: the error is what ended the reading
// other than the server's close.
func tlsLines(front string, cfg *tls.Config, password, id string) ([]string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", front, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write([]byte("110 " + password + "\n120 " + id + "\n")); err != nil {
		return nil, err
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if closedByPeer(err) || err.Error() == "EOF" {
				return lines, nil
			}
			return lines, err
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
}

func firstWords(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l
		if strings.HasPrefix(l, "140 ") {
			out[i] = "140"
		}
	}
	return out
}

// sslCNHeader is a PROXY v2 header such as HAProxy sends for a verified
// client certificate named cn, written with go-proxyproto.
func sslCNHeader(t *testing.T, cn string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP("198.51.100.4"), Port: 40000},
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 7070})
	tlv, err := tlvparse.PP2SSL{
		Client: tlvparse.PP2_BITFIELD_CLIENT_SSL | tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN,
		TLV: []proxyproto.TLV{
			{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")},
			{Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(cn)},
		},
	}.Marshal()
	require.NoError(t, err)
	require.NoError(t, h.SetTLVs([]proxyproto.TLV{tlv}))
	b, err := h.Format()
	require.NoError(t, err)
	return b
}
