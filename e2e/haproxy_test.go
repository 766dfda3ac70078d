package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/internal/testkit"
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
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not on PATH: `apt-get install -y haproxy` to run the TLS-in-front test (CI installs it)")
	}
	const password = "tls-s3cret-5521"
	cliser := testkit.Serve(t, []string{"CLISER_PASSWORD=" + password, "CLISER_ADMIN_TOKEN="},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--proxy-protocol", "--keepalive-interval", "200ms", "--keepalive-timeout", "3s")
	api, err := admin.NewClient("http://"+cliser.AdminAddr, "", 5*time.Second)
	require.NoError(t, err)

	dir := t.TempDir()
	caPool, caPath, pemPath := writeTestPKI(t, dir)
	front := freePort(t)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	var cfg bytes.Buffer
	require.NoError(t, template.Must(template.New("cfg").Parse(haproxyConfig)).Execute(&cfg,
		map[string]string{"Front": front, "PEM": pemPath, "Cliser": cliser.Addr, "MaxConn": "1000",
			// HAProxy's side of the backend connection gets an address of its
			// own, so that cip proves it came from the PROXY header.
			"Source": "127.0.0.9"}))
	require.NoError(t, os.WriteFile(cfgPath, cfg.Bytes(), 0o600))
	testkit.HAProxy(t, haproxy, cfgPath, front)

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
	agent := exec.Command(testkit.Binary(t), "agent", "--server", front, "--id", "tls-agent-1",
		"--tls-ca", caPath, "--tls-server-name", tlsServerName, "--backoff-min", "50ms")
	agent.Env = append(os.Environ(), "CLISER_PASSWORD="+password)
	var agentOut testkit.LockedBuffer
	agent.Stdout, agent.Stderr = &agentOut, &agentOut
	require.NoError(t, agent.Start())
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Wait() }()
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		<-agentDone
		agentDone <- nil
	})
	require.Eventually(t, func() bool {
		rec, err := api.Get(ctx, "tls-agent-1")
		return err == nil && rec.CStatus
	}, 15*time.Second, 20*time.Millisecond, "the agent did not register through HAProxy:\n%s", &agentOut)
	rec, err = api.Get(ctx, "tls-agent-1")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", rec.CIP, "cip must be the agent's address, from the PROXY header")
	_, err = api.Shutdown(ctx, "tls-agent-1", "agent test over")
	require.NoError(t, err)
	select {
	case err := <-agentDone:
		agentDone <- err
		require.NoError(t, err, "the agent must exit 0 after a shutdown order:\n%s", agentOut.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent did not exit after the shutdown order:\n%s", agentOut.String())
	}
	assert.NotContains(t, agentOut.String(), password, "the agent logged its password")

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
