package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// Trust mistakes stop the built binary with exit 2 and a message that
// says what to fix.
func TestBinaryRefusesUntrustworthyProxySettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"cert CN without trusted senders", []string{"--proxy-protocol", "--require-cert-cn"}, nil, "--require-cert-cn believes the certificate name"},
		{"cert CN, nothing else", []string{"--require-cert-cn"}, nil, "set --proxy-protocol and --proxy-trusted"},
		{"trusted without PROXY protocol", []string{"--proxy-trusted", "127.0.0.1"}, nil, "it needs --proxy-protocol"},
		{"trusted, not an address", []string{"--proxy-protocol", "--proxy-trusted", "haproxy.internal"}, nil, "--proxy-trusted wants IP addresses or CIDRs"},
		{"trusted from the environment, bad CIDR", []string{"--proxy-protocol"}, []string{"CLISER_PROXY_TRUSTED=10.0.0.0/33"}, "--proxy-trusted wants IP addresses or CIDRs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir()}, tc.args...)
			out, code := testkit.Run(t, testkit.Environ(nil, append([]string{"CLISER_PASSWORD=pw"}, tc.env...)...), args...)
			assert.Equal(t, 2, code, out)
			assert.Contains(t, out, tc.want)
		})
	}
}

// Plain --proxy-protocol starts, warning of the risk; with trusted senders
// from the environment it does not warn, and refuses anyone else.
func TestBinaryProxyTrustFromTheEnvironment(t *testing.T) {
	plain := testkit.Serve(t, []string{"CLISER_PASSWORD=pw"}, "--listen", "127.0.0.1:0", "--admin-listen", "off",
		"--data-dir", t.TempDir(), "--proxy-protocol")
	assert.Contains(t, plain.LogText(), "--proxy-protocol without --proxy-trusted")

	trusted := testkit.Serve(t, []string{"CLISER_PASSWORD=pw", "CLISER_PROXY_TRUSTED=10.0.0.0/8, 192.0.2.7", "CLISER_REQUIRE_CERT_CN=true"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", t.TempDir(), "--proxy-protocol")
	assert.NotContains(t, trusted.LogText(), "without --proxy-trusted")
	testkit.Dial(t, trusted.Addr).ExpectClosed("190 " + protocol.ReasonProtocolError.String())
}
