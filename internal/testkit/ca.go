package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// CA is a throwaway certificate authority for tests of TLS: nothing but
// the test trusts it, and its certificates expire within a day. Its
// methods are safe from any goroutine.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate, the form a --tls-ca file holds.
	PEM []byte

	mu     sync.Mutex
	serial int64
}

// NewCA makes a CA with a fresh P-256 key.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cliser test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &CA{
		cert:   cert,
		key:    key,
		PEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		serial: 1,
	}
}

// Pool is a certificate pool that trusts this CA alone.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// WriteFile writes the CA certificate to dir/ca.pem and returns the path.
func (ca *CA) WriteFile(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(path, ca.PEM, 0o600))
	return path
}

// Cert is a server certificate the CA signed.
type Cert struct {
	// TLS is the chain (leaf, then the CA) with its key, for a tls.Config.
	TLS tls.Certificate
	// ChainPEM is the leaf then the CA certificate; KeyPEM the leaf's key.
	ChainPEM, KeyPEM []byte
}

// Issue signs a server certificate for names: each one that parses as an
// IP address becomes an IP SAN, every other a DNS name; the first is also
// the subject's common name. A name left out is a name a client verifying
// it must refuse.
func (ca *CA) Issue(t testing.TB, names ...string) Cert {
	t.Helper()
	require.NotEmpty(t, names, "a certificate needs a name")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.nextSerial()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.PEM...)
	return Cert{
		TLS:      tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key},
		ChainPEM: chain,
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}

// WriteBundle writes the chain then the key as one PEM file, dir/name (the
// form HAProxy's "crt" wants), and returns the path.
func (c Cert) WriteBundle(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	bundle := append(append([]byte{}, c.ChainPEM...), c.KeyPEM...)
	require.NoError(t, os.WriteFile(path, bundle, 0o600))
	return path
}

func (ca *CA) nextSerial() int64 {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.serial++
	return ca.serial
}

// IssueClient signs a client certificate whose subject's common name is
// cn (the form --require-cert-cn matches against the client ID). Its
// extended key usage is client authentication only, as a TLS terminator
// that checks the purpose wants.
func (ca *CA) IssueClient(t testing.TB, cn string) Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.nextSerial()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return Cert{
		TLS:      tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key},
		ChainPEM: append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.PEM...),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}
