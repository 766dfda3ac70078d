package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
)

// agentTLS is the TLS part of `cliser agent`. cliser serve speaks plain
// TCP; TLS is for a terminator in front of it (HAProxy, see docs/tls.md),
// so the agent's password does not cross the network in the clear.
type agentTLS struct {
	enabled    bool   // --tls
	caFile     string // --tls-ca
	serverName string // --tls-server-name
	certFile   string // --tls-cert: the client certificate (agent_tls_cert.go)
	keyFile    string // --tls-key: its key
}

// wanted reports whether the agent speaks TLS: --tls, or any other TLS
// flag, since naming a CA, a server name or a client certificate means
// nothing without it.
func (a agentTLS) wanted() bool {
	return a.enabled || a.wantedBesidesTLS()
}

// config builds the client's TLS config for server (HOST:PORT), nil when
// TLS is off. tlsExplicitlyOff is true when --tls=false (or CLISER_TLS=false)
// was given: together with any other TLS flag that is a contradiction,
// and guessing which one was meant could send the password in the clear.
//
// Verification is always on: there is deliberately no way to skip it. The
// server name defaults to the host of server; when that is an IP address Go
// checks it against the certificate's IP SANs and sends no SNI.
func (a agentTLS) config(server string, tlsExplicitlyOff bool) (cfg *tls.Config, err error) {
	if tlsExplicitlyOff && a.wantedBesidesTLS() {
		return nil, configErrorf("--tls=false contradicts --tls-ca/--tls-server-name/--tls-cert/--tls-key " +
			"(or CLISER_TLS_CA/CLISER_TLS_SERVER_NAME/CLISER_TLS_CERT/CLISER_TLS_KEY); drop one")
	}
	if !a.wanted() {
		return nil, nil
	}
	name := a.serverName
	if name == "" {
		host, _, err := net.SplitHostPort(server)
		if err != nil || host == "" {
			return nil, configErrorf("--tls: cannot take a server name from --server %q (want HOST:PORT); give --tls-server-name", server)
		}
		name = host
	}
	cfg = &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if a.caFile != "" {
		pool, err := loadCABundle(a.caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if cfg.Certificates, err = a.clientCert(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// wantedBesidesTLS reports whether a TLS flag other than --tls is given.
func (a agentTLS) wantedBesidesTLS() bool {
	return a.caFile != "" || a.serverName != "" || a.certFile != "" || a.keyFile != ""
}

// loadCABundle reads a PEM bundle of CA certificates. Unlike
// x509.CertPool.AppendCertsFromPEM it does not skip a certificate it cannot
// parse: a bundle that silently trusts less than the operator thinks would
// show up only as a certificate error on every connect.
func loadCABundle(file string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, configErrorf("--tls-ca: %v", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue // a bundle may carry other blocks; only certificates are trusted
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, configErrorf("--tls-ca %s: certificate %d: %v", file, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, configErrorf("--tls-ca %s has no PEM certificate in it (want -----BEGIN CERTIFICATE----- blocks)", file)
	}
	return pool, nil
}
