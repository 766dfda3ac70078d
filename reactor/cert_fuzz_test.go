package reactor

import (
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// FuzzProxyCertTLV feeds PROXY v2 headers with SSL TLVs, seeded with the
// golden ones HAProxy sends, through the header and TLV parsing: no panic,
// a verified certificate is always a presented one, a CN is valid UTF-8,
// and a header that parses parses the same twice.
func FuzzProxyCertTLV(f *testing.F) {
	bits := tlvparse.PP2_BITFIELD_CLIENT_SSL
	for _, ssl := range []*sslTLV{
		verifiedCert("pos-0042"),
		verifiedCert(""),
		{client: bits | tlvparse.PP2_BITFIELD_CLIENT_CERT_SESS, cn: "pos-0042"},
		{client: bits | tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN, verify: 1, cn: "pos-0042"},
		{client: bits, cn: "pos-0042"},
		{client: 0},
		nil,
	} {
		h := proxyV2(f, "203.0.113.7", ssl)
		f.Add(h)
		f.Add(append(h, "110 pw\n"...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := proxyHeaderLen(data)
		if err != nil || n == 0 {
			return
		}
		p, err := parseProxyHeader(data[:n])
		if err != nil {
			return
		}
		if p.cert.verified && !p.cert.present {
			t.Fatalf("verified without a certificate: %q", data[:n])
		}
		if !utf8.ValidString(p.cert.cn) {
			t.Fatalf("CN is not UTF-8: %q", p.cert.cn)
		}
		if !p.ok && p.cert != (certInfo{}) {
			t.Fatalf("a LOCAL header carried a certificate: %q", data[:n])
		}
		again, err := parseProxyHeader(data[:n])
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("parsed differently twice: %+v then %+v, %v", p, again, err)
		}
	})
}

// The SSL TLV alone, as go-proxyproto splits it: no panic on any value.
func FuzzCertFromTLVs(f *testing.F) {
	for _, cn := range []string{"pos-0042", ""} {
		tlv, err := tlvparse.PP2SSL{Client: 7, TLV: []proxyproto.TLV{
			{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")},
			{Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(cn)},
		}}.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tlv.Value)
	}
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, value []byte) {
		pc, err := certFromTLVs([]proxyproto.TLV{{Type: proxyproto.PP2_TYPE_SSL, Value: value}})
		if err == nil && pc.verified && !pc.present {
			t.Fatalf("verified without a certificate: %x", value)
		}
	})
}
