package main

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"go.uber.org/zap"
)

// A client certificate, for a TLS terminator that verifies clients: with
// `cliser serve --require-cert-cn` its CN is the client ID (docs/tls.md),
// a key that never leaves the device. Read again before every attempt
// with the rest of the TLS settings (agent_reread.go), so a certificate
// renewed on disk is presented without a restart.

// clientCert loads --tls-cert and --tls-key: both or neither. The key is
// the device's secret: a key file others may read is refused, as the
// password file is.
func (a agentTLS) clientCert() ([]tls.Certificate, error) {
	switch {
	case a.certFile == "" && a.keyFile == "":
		return nil, nil
	case a.certFile == "" || a.keyFile == "":
		return nil, configErrorf("--tls-cert and --tls-key go together: give the client certificate and its key, or neither")
	}
	if err := checkSecretFileMode("--tls-key", a.keyFile); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(a.certFile, a.keyFile)
	if err != nil {
		return nil, configErrorf("--tls-cert %s with --tls-key %s: %v", a.certFile, a.keyFile, err)
	}
	return []tls.Certificate{cert}, nil
}

// logClientCert says which certificate the agent presents, and warns of
// what makes a terminator or cliser refuse it, before a try shows it: a
// CN that is not the client ID (--require-cert-cn), and a certificate
// outside its validity.
func logClientCert(log *zap.Logger, cfg *tls.Config, id string) {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		return // LoadX509KeyPair parsed it already
	}
	cn := zap.String("cn", leaf.Subject.CommonName)
	log.Info("TLS client certificate", cn, zap.Time("not_after", leaf.NotAfter))
	if leaf.Subject.CommonName != id {
		log.Warn("the client certificate's CN is not --id: a server with --require-cert-cn refuses it",
			cn, zap.String("cid", id))
	}
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		log.Warn("the client certificate is expired or not yet valid: renew it, or check this machine's clock",
			cn, zap.Time("not_before", leaf.NotBefore), zap.Time("not_after", leaf.NotAfter))
	}
}
