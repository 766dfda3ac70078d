package admin_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
)

// A connection from outside --proxy-trusted, and one from inside that
// sends no header, are each counted by cause.
func TestProxyRefusalsAreCounted(t *testing.T) {
	t.Parallel()
	untrusted := newStack(t, stackConfig{reactorOpts: []reactor.Option{
		reactor.WithProxyProtocol(true), reactor.WithProxyTrusted([]string{"10.9.0.0/16"}),
	}})
	assert.Zero(t, metricValue(t, untrusted.metrics, admin.MetricProxyRefused, "cause", "untrusted sender"))
	testkit.Dial(t, untrusted.srv.Addr()).ExpectClosed(testkit.CloseLine(protocol.ReasonProtocolError))
	eventually(t, func() bool {
		return metricValue(t, untrusted.metrics, admin.MetricProxyRefused, "cause", "untrusted sender") == 1
	}, "untrusted sender counted")

	trusted := newStack(t, stackConfig{reactorOpts: []reactor.Option{
		reactor.WithProxyProtocol(true), reactor.WithProxyTrusted([]string{"127.0.0.1"}),
	}})
	c := testkit.Dial(t, trusted.srv.Addr())
	c.Send("110 " + testPassword + "\n")
	eventually(t, func() bool {
		return metricValue(t, trusted.metrics, admin.MetricProxyRefused, "cause", "missing or malformed header") == 1
	}, "missing header counted")
	assert.Zero(t, metricValue(t, trusted.metrics, admin.MetricProxyRefused, "cause", "untrusted sender"))
}
