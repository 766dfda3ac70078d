package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
)

// A client without TLS pointed at a TLS port: the terminator takes the
// pipelined answers for a ClientHello and answers with an alert (a TLS
// record) or closes without a word; cliser's first bytes are always
// "110 password".
var (
	errSpeaksTLS = errors.New("client: the server answered in TLS")
	// errSpeaksHTTP: the answer began "HTTP/": --server names an HTTP
	// port, as the admin API's, whose 400 read as a malformed line.
	errSpeaksHTTP = errors.New("client: the server answered in HTTP")
	errNoPrompt   = errors.New("client: no prompt from the server")
	// errRefusedUnprompted: "190 protocol error" before any prompt, what
	// a cliser serve --proxy-protocol says to a connection that did not
	// come from its terminator (docs/tls.md).
	errRefusedUnprompted = errors.New("client: refused before the first prompt")
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
	if errors.Is(err, errRefusedUnprompted) {
		// It left only "protocol error", which read as a client bug.
		return "the server refused before its first prompt, as cliser serve --proxy-protocol refuses a connection " +
			"without a PROXY header from an address in --proxy-trusted: point --server at the TLS terminator in front " +
			"of it (with --tls); if that is the terminator, it must send the header (HAProxy: send-proxy-v2) " +
			"from an address in --proxy-trusted"
	}
	if errors.Is(err, errSpeaksHTTP) {
		return "--server names an HTTP port (the admin API's, 7071 by default?): give cliser serve's protocol port " +
			"(its --listen, 7070 by default)"
	}
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
		dialOp  *net.OpError
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, ErrDial) && errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &dialOp) && dialOp.Op == "dial"):
		// In the dial, after the TCP connect (its timeout is a dial
		// OpError): the TLS handshake, of which only "context deadline
		// exceeded" was left to read. A deadline in cliser's own
		// handshake is ErrHandshake's.
		return "the server took the connection but did not finish the TLS handshake within --dial-timeout " +
			"(Config.DialTimeout): check that --server is the TLS terminator's port, and that the terminator is not " +
			"overloaded or waiting on its backend"
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
	case refusedClientCert(err) && len(tlsCfg.Certificates) == 0:
		return "the TLS terminator wants a client certificate: give --tls-cert and --tls-key (tls.Config.Certificates)"
	case refusedClientCert(err):
		return "the TLS terminator refused the client certificate of --tls-cert (tls.Config.Certificates): " +
			"it must be issued by a CA the terminator trusts for clients, valid now, and for client authentication"
	}
	return ""
}

// clientCertAlerts are Go's words for the alerts a server sends about the
// client's certificate (the alert type itself is not exported): none
// sent, or one it does not accept.
var clientCertAlerts = []string{"tls: certificate required", "tls: bad certificate", "tls: unsupported certificate",
	"tls: revoked certificate", "tls: expired certificate", "tls: unknown certificate", "tls: unknown certificate authority"}

// refusedClientCert reports whether the server ended the TLS session with
// one of clientCertAlerts. With TLS 1.3 it comes after the handshake, on
// the first read.
func refusedClientCert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && op.Err != nil &&
		slices.Contains(clientCertAlerts, op.Err.Error())
}
