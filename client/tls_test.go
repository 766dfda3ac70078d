package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// selfSignedTLS makes a server certificate for 127.0.0.1 and a client
// config that trusts it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cliser test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
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
