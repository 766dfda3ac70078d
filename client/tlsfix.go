package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// tlsFix says what to change when a TLS dial failed in a way only an
// operator can fix, "" for any other error. Go's own words ("certificate
// signed by unknown authority") say what went wrong, not which setting
// mends it; a device's log is read by someone who needs the flag. tlsCfg
// is the config the dial used.
func tlsFix(err error, tlsCfg *tls.Config) string {
	if tlsCfg == nil {
		return ""
	}
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &host):
		return "the server's certificate does not carry the name checked: connect by a name it carries, " +
			"or give one with --tls-server-name (tls.Config.ServerName)"
	case errors.As(err, &unknown):
		if tlsCfg.RootCAs != nil {
			return "no CA in --tls-ca (tls.Config.RootCAs) signed the server's certificate: " +
				"give the CA that issued the TLS terminator's certificate"
		}
		return "the system roots do not trust the server's certificate: " +
			"for a private CA, give its certificate with --tls-ca FILE (tls.Config.RootCAs)"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the server's certificate is expired or not yet valid: renew it on the TLS terminator, " +
			"or check this machine's clock"
	case errors.As(err, &record):
		return "the server does not speak TLS: point --server at the TLS terminator, or drop --tls"
	}
	return ""
}
