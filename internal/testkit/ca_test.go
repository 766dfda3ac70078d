package testkit

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The issued certificate verifies for its names against the CA's pool
// alone, and for no other name: tests of certificate mismatches rely on it.
func TestIssuedCertificateVerifiesForItsNamesOnly(t *testing.T) {
	ca := NewCA(t)
	cert := ca.Issue(t, "cliser.test", "127.0.0.1")
	leaf, err := x509.ParseCertificate(cert.TLS.Certificate[0])
	require.NoError(t, err)
	for _, name := range []string{"cliser.test", "127.0.0.1"} {
		_, err = leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()})
		assert.NoError(t, err, name)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "wrong.test", Roots: ca.Pool()})
	assert.Error(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "cliser.test", Roots: NewCA(t).Pool()})
	assert.Error(t, err, "another CA must not vouch for it")
	assert.NotEqual(t, 0, leaf.SerialNumber.Cmp(ca.Issue(t, "x").leafSerial(t)), "serials repeat")
}

// The bundle file is what tls.LoadX509KeyPair (and HAProxy) read, and the
// CA file holds one certificate.
func TestBundleAndCAFilesLoad(t *testing.T) {
	ca := NewCA(t)
	dir := t.TempDir()
	bundle := ca.Issue(t, "cliser.test").WriteBundle(t, dir, "server.pem")
	_, err := tls.LoadX509KeyPair(bundle, bundle)
	require.NoError(t, err)

	raw, err := os.ReadFile(ca.WriteFile(t, dir))
	require.NoError(t, err)
	block, rest := pem.Decode(raw)
	require.NotNil(t, block)
	assert.Empty(t, rest)
	assert.True(t, x509.NewCertPool().AppendCertsFromPEM(raw))
}

func (c Cert) leafSerial(t *testing.T) *big.Int {
	leaf, err := x509.ParseCertificate(c.TLS.Certificate[0])
	require.NoError(t, err)
	return leaf.SerialNumber
}

func TestClientCertificateVerifiesForClientAuthOnly(t *testing.T) {
	ca := NewCA(t)
	c := ca.IssueClient(t, "pos-0042")
	leaf, err := x509.ParseCertificate(c.TLS.Certificate[0])
	require.NoError(t, err)
	assert.Equal(t, "pos-0042", leaf.Subject.CommonName)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	assert.Error(t, err, "a client certificate must not pass as a server's")
	_, err = leaf.Verify(x509.VerifyOptions{Roots: NewCA(t).Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "another CA must not verify it")
}
