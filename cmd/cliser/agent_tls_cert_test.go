package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// writeClientCert writes c's chain and key to dir/cert.pem and dir/key.pem
// (the key mode 600, as the agent wants) and returns both paths.
func writeClientCert(t *testing.T, dir string, c testkit.Cert) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, c.ChainPEM, 0o644))
	require.NoError(t, os.WriteFile(keyFile, c.KeyPEM, 0o600))
	return certFile, keyFile
}

// --tls-cert and --tls-key: both or neither, a key others may not read,
// a key that is the certificate's; a client certificate implies TLS.
func TestAgentTLSClientCertConfig(t *testing.T) {
	fleet := testkit.NewCA(t)
	certFile, keyFile := writeClientCert(t, t.TempDir(), fleet.IssueClient(t, "pos-0042"))
	cfg, err := agentTLS{certFile: certFile, keyFile: keyFile}.config("cliser.test:7443", false)
	require.NoError(t, err)
	require.NotNil(t, cfg, "a client certificate implies TLS")
	require.Len(t, cfg.Certificates, 1)
	assert.Equal(t, "cliser.test", cfg.ServerName)

	// Without --tls-ca (the system roots) a renewed certificate is read
	// again before each attempt all the same.
	reread := agentTLS{certFile: certFile, keyFile: keyFile}.reread("cliser.test:7443")
	require.NotNil(t, reread, "a client certificate alone is not read again")
	renewed := fleet.IssueClient(t, "pos-0042")
	writeClientCert(t, filepath.Dir(certFile), renewed)
	cfg, err = reread()
	require.NoError(t, err)
	assert.Equal(t, renewed.TLS.Certificate[0], cfg.Certificates[0].Certificate[0], "the renewed certificate is presented")

	_, otherKey := writeClientCert(t, t.TempDir(), fleet.IssueClient(t, "pos-0043"))
	for _, tc := range []struct {
		name string
		a    agentTLS
		off  bool
		want string
	}{
		{"a certificate without its key", agentTLS{certFile: certFile}, false, "--tls-cert and --tls-key go together"},
		{"a key without its certificate", agentTLS{keyFile: keyFile}, false, "--tls-cert and --tls-key go together"},
		{"another certificate's key", agentTLS{certFile: certFile, keyFile: otherKey}, false,
			"--tls-cert " + certFile + " with --tls-key " + otherKey + ": tls: private key does not match public key"},
		{"no key file", agentTLS{certFile: certFile, keyFile: keyFile + ".gone"}, false, "--tls-key: stat "},
		{"the key as the certificate", agentTLS{certFile: keyFile, keyFile: keyFile}, false, "--tls-cert " + keyFile},
		{"--tls=false", agentTLS{certFile: certFile, keyFile: keyFile}, true, "contradicts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.a.config("h:1", tc.off)
			var ce *configError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	require.NoError(t, os.Chmod(keyFile, 0o640))
	_, err = agentTLS{certFile: certFile, keyFile: keyFile}.config("h:1", false)
	assert.ErrorContains(t, err, "--tls-key "+keyFile+" is mode 0640: others may read the secret; chmod 600")
}

// The agent presents its client certificate to a terminator that verifies
// clients, and a certificate renewed on disk (here: issued by the CA the
// terminator trusts, after one it does not) from the next attempt, without
// a restart. The logs say which certificate, and what to fix.
func TestAgentBinaryPresentsItsClientCertificate(t *testing.T) {
	srv, reg := agentServer(t)
	server, caFile := newTestPKI(t, "cliser.test")
	fleet := testkit.NewCA(t)
	front := startTLSTerminatorWith(t, &tls.Config{Certificates: []tls.Certificate{server.TLS}, MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: fleet.Pool()}, srv.Addr())
	dir := t.TempDir()
	certFile, keyFile := writeClientCert(t, dir, testkit.NewCA(t).IssueClient(t, "pos-0042")) // not the fleet's
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword}, "--server", front.addr(), "--id", "pos-0042",
		"--tls-ca", caFile, "--tls-server-name", "cliser.test", "--tls-cert", certFile, "--tls-key", keyFile,
		"--backoff-min", "10ms", "--backoff-max", "1h")
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "refused the client certificate of --tls-cert") },
		waitFor, tick, "%s", p.LogText())
	logs := p.LogText()
	assert.Contains(t, logs, `"msg":"TLS client certificate","cn":"pos-0042"`)
	assert.NotContains(t, logs, "CN is not --id")
	assert.Zero(t, front.proxiedCount(), "a refused certificate got through")

	writeClientCert(t, dir, fleet.IssueClient(t, "pos-0042"))
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, connectedRecord(reg, "pos-0042"), waitFor, tick, "the renewed certificate was not presented:\n%s", p.LogText())
	// The registry may know before the agent's lines are read: poll them.
	testkit.WaitLog(t, waitFor, p.LogText, `"msg":"the client certificate changed; this attempt presents the new one"`)
	assert.NotContains(t, p.LogText(), "the trusted CAs changed", "the CA file is the same")
	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())

	// A certificate for another ID: said at start, before a
	// --require-cert-cn server refuses it (e2e/haproxy_test.go).
	q := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword}, "--server", front.addr(), "--id", "pos-0099",
		"--tls-ca", caFile, "--tls-server-name", "cliser.test", "--tls-cert", certFile, "--tls-key", keyFile)
	require.Eventually(t, connectedRecord(reg, "pos-0099"), waitFor, tick, q.LogText())
	testkit.WaitLog(t, waitFor, q.LogText,
		`"msg":"the client certificate's CN is not --id: a server with --require-cert-cn refuses it","cn":"pos-0042","cid":"pos-0099"`)
	assert.Equal(t, 0, q.Stop(t, nil), q.LogText())
}

// logClientCert warns of a certificate outside its validity, past it or
// before it, and not of one inside it: the terminator would refuse it,
// and the warning says why before a try does.
func TestLogClientCertWarnsOutsideItsValidity(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name          string
		notBefore, at time.Time
		warns         bool
	}{
		{"valid", now.Add(-time.Hour), now.Add(time.Hour), false},
		{"expired", now.Add(-2 * time.Hour), now.Add(-time.Hour), true},
		{"not yet valid", now.Add(time.Hour), now.Add(2 * time.Hour), true},
	} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pos-1"},
			NotBefore: c.notBefore, NotAfter: c.at}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		require.NoError(t, err)
		core, logs := observer.New(zap.InfoLevel)
		logClientCert(zap.New(core), &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}}}}, "pos-1")
		assert.Equal(t, c.warns, logs.FilterMessageSnippet("expired or not yet valid").Len() == 1, c.name)
		assert.Zero(t, logs.FilterMessageSnippet("CN is not --id").Len(), c.name)
	}
}
