package reactor

import (
	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// Identity from a client certificate. A TLS terminator in front (HAProxy:
// verify required, send-proxy-v2-ssl-cn) passes in the PROXY v2 header
// whether the client presented a certificate, whether it verified, and
// its common name. go-proxyproto parses those TLVs. With --require-cert-cn
// the client ID of the 120 answer must equal that name.

// certInfo is what a TLS terminator in front says, in the PROXY v2 header,
// about the client's certificate. It waits in the loop's handshake table
// (identity.go) until the 120 answer, not in the session.
type certInfo struct {
	present  bool // on this connection or its TLS session
	verified bool // and it verified
	cn       string
}

// WithRequireCertCN admits a client only when the PROXY header says it
// presented a verified client certificate whose common name is its client
// ID; it needs WithProxyTrusted (a header from anyone proves nothing).
// It adds to the password or credential check: both must hold.
func WithRequireCertCN(on bool) Option { return func(o *options) { o.requireCertCN = on } }

// certFromTLVs reads the PP2_TYPE_SSL TLV, if any. A malformed one is an
// error: a header that garbles what it says about the certificate is not
// taken as "no certificate".
func certFromTLVs(tlvs []proxyproto.TLV) (certInfo, error) {
	for _, t := range tlvs {
		if t.Type != proxyproto.PP2_TYPE_SSL {
			continue
		}
		ssl, err := tlvparse.SSL(t)
		if err != nil {
			return certInfo{}, err
		}
		var ci certInfo
		ci.present = ssl.ClientCertConn() || ssl.ClientCertSess()
		// verify is 0 when a presented certificate verified, and 0 too
		// when none was presented: only the pair means verified.
		ci.verified = ci.present && ssl.Verified()
		ci.cn, _ = ssl.ClientCN()
		return ci, nil
	}
	return certInfo{}, nil
}

// keepCert keeps the header's word on the certificate for the 120 answer.
// A header without one costs no entry.
func (s *session) keepCert(ci certInfo) {
	if ci == (certInfo{}) {
		return
	}
	hs := s.lp.hs[s]
	hs.cert = ci
	s.lp.hs[s] = hs
}

// certRefusal says why the certificate does not allow client ID cid, ""
// when it does: always without --require-cert-cn, else only a presented,
// verified certificate whose CN is cid. The client hears "auth failed"
// alone; the log line says which (an operator setting up mTLS could not
// tell a name that differs in case from a wrong password). A CN is no
// secret: a plain comparison will do.
func (s *session) certRefusal(cid string, ci *certInfo) string {
	switch {
	case !s.lp.srv.opts.requireCertCN:
		return ""
	case !ci.present:
		return "no client certificate in the PROXY header"
	case !ci.verified:
		return "client certificate not verified"
	case ci.cn != cid:
		return "certificate name is not the client ID"
	}
	return ""
}
