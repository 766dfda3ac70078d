package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// A client without TLS pointed at a TLS port: the terminator takes the
// pipelined answers for a ClientHello and answers with an alert (a TLS
// record) or closes without a word; cliser's first bytes are always
// "110 password".
var (
	errSpeaksTLS = errors.New("client: the server answered in TLS")
	errNoPrompt  = errors.New("client: no prompt from the server")
)

// tlsRecord reports whether b begins as a TLS record: an alert or a
// handshake, of TLS 1.x (SSL 3.0's 3.0 included).
func tlsRecord(b []byte) bool {
	return len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03
}

// tlsFix says what to change when a TLS dial failed in a way only an
// operator can fix, "" for any other error. Go's own words ("certificate
// signed by unknown authority") say what went wrong, not which setting
// mends it; a device's log is read by someone who needs the flag. tlsCfg
// is the config the dial used.
func tlsFix(err error, tlsCfg *tls.Config) string {
	if tlsCfg == nil {
		switch {
		case errors.Is(err, errSpeaksTLS):
			return "the server speaks TLS: add --tls (tls.Config), and --tls-ca FILE for a private CA"
		case errors.Is(err, errNoPrompt):
			return "the server sent no prompt before it closed or the handshake timed out: " +
				"if --server is a TLS terminator's port, add --tls (tls.Config)"
		}
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
