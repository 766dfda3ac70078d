package client

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
