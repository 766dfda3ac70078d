package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/protocol"
)

// MetricProxyRefused counts connections refused for their PROXY header:
// from outside --proxy-trusted, or with a header missing or malformed.
const MetricProxyRefused = "cliser_proxy_refused_total"

// addProxyMetrics registers the PROXY refusal counters, one per cause,
// each there from the start.
func (m *Metrics) addProxyMetrics() {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricProxyRefused,
		Help: `Connections refused for their PROXY header: "untrusted sender" (outside --proxy-trusted) or "missing or malformed header".`,
	}, []string{"cause"})
	for _, r := range []protocol.ProxyRefusal{protocol.ProxyUntrusted, protocol.ProxyBadHeader} {
		m.proxyRefused[r] = vec.WithLabelValues(r.String())
	}
	m.prom.MustRegister(vec)
}

// ProxyRefused implements reactor.ProxyObserver. Safe for concurrent use.
func (m *Metrics) ProxyRefused(r protocol.ProxyRefusal) {
	if int(r) < len(m.proxyRefused) {
		inc(m.proxyRefused[r])
	}
}

// MetricPerIPCapped counts the connections the per-IP handshake cap
// refused, which the wire and cliser_accept_rejections_total call "server
// full" as they do the connection ceiling's.
const MetricPerIPCapped = "cliser_handshakes_per_ip_refused_total"

func (m *Metrics) addCapMetric() {
	m.perIPCapped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricPerIPCapped,
		Help: `Connections refused 190 server full by --max-handshakes-per-ip: their address (IPv6: its network) had that many handshakes under way. Also in cliser_accept_rejections_total{reason="server full"}, with the connection ceiling's.`,
	})
	m.prom.MustRegister(m.perIPCapped)
}

// PerIPCapped implements reactor.CapObserver. Safe for concurrent use.
func (m *Metrics) PerIPCapped() { m.perIPCapped.Inc() }
