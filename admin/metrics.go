package admin

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cliser/cliser/internal/prom"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// Metric names, as operators and dashboards see them (docs/operations.md).
const (
	MetricClientsConnected  = "cliser_clients_connected"
	MetricRegistryRecords   = "cliser_registry_records"
	MetricHandshakes        = "cliser_handshakes_total"
	MetricDisconnects       = "cliser_disconnects_total"
	MetricKeepAliveRTT      = "cliser_keepalive_rtt_seconds"
	MetricKeepAliveTimeouts = "cliser_keepalive_timeouts_total"
	MetricShutdownsSent     = "cliser_shutdown_commands_sent_total"
	MetricShutdownsAcked    = "cliser_shutdown_commands_acked_total"
	MetricRejections        = "cliser_accept_rejections_total"
	MetricConnectionsOpen   = "cliser_connections_open"
	MetricConnectionsMax    = "cliser_connections_max"
	MetricStartRestarted    = "cliser_start_sessions_restarted"
)

// ConnectionGauges are the protocol listener's open connections (open,
// read when scraped) and its ceiling, max: how near the server is to
// refusing new clients with 190 server full, which the process's open
// descriptors (admin connections and data files among them) did not say.
func ConnectionGauges(open, max func() int) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricConnectionsOpen,
			Help: "TCP connections open on the client listener, those in their handshake included.",
		}, func() float64 { return float64(open()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricConnectionsMax,
			Help: "The connection ceiling in force (--max-connections, or less while the open-files limit is lowered under the process): past it new connections get 190 server full.",
		}, func() float64 { return float64(max()) }),
	}
}

// HandshakeOK is the result label of a handshake that registered the
// client; a failed one is labelled with its protocol.Reason text.
const HandshakeOK = "ok"

// Metrics is cliser's Prometheus instrumentation on a private registry (so
// that nothing another library registers globally leaks into /metrics). It
// implements reactor.Observer: its methods run on event loops, several at
// once, and only touch atomic counters that were resolved up front, so the
// hot path does no label lookup and never blocks.
type Metrics struct {
	prom    *prometheus.Registry
	handler http.Handler

	handshakeOK  prometheus.Counter
	handshakes   [reasonSlots]prometheus.Counter
	disconnects  [reasonSlots]prometheus.Counter
	rejections   [reasonSlots]prometheus.Counter
	rtt          prometheus.Histogram
	keepTimeouts prometheus.Counter
	shutSent     prometheus.Counter
	shutAcked    prometheus.Counter
	startEnded   prometheus.Gauge      // Restarted's n: set once, at the start
	proxyRefused [3]prometheus.Counter // by protocol.ProxyRefusal (metrics_proxy.go)
	perIPCapped  prometheus.Counter    // metrics_proxy.go
}

// reasonSlots sizes the per-reason arrays; protocol.Reason is a uint8.
const reasonSlots = 256

// rttBuckets are prom.KeepAliveRTTBuckets: the benchmark's floor reads
// its RTT with the same bounds.
var rttBuckets = prom.KeepAliveRTTBuckets

// helpClientsConnected is MetricClientsConnected's help, on the API and
// on the standby.
const helpClientsConnected = "Clients registered and connected now."

// NewMetrics makes the metrics. The connected-clients and records gauges
// are read from reg when scraped, so they can never drift from it.
func NewMetrics(reg *registry.Registry) *Metrics {
	m := &Metrics{prom: prometheus.NewRegistry()}
	m.prom.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricClientsConnected,
			Help: helpClientsConnected,
		}, func() float64 { c, _ := reg.Counts(); return float64(c) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricRegistryRecords,
			Help: "Client records in the registry, connected or not.",
		}, func() float64 { _, t := reg.Counts(); return float64(t) }),
	)

	handshakes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricHandshakes,
		Help: `Finished handshakes by result: "ok" when the client registered, else the reason it was refused.`,
	}, []string{"result"})
	disconnects := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricDisconnects,
		Help: "Ends of registered connections by reason.",
	}, []string{"reason"})
	rejections := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRejections,
		Help: "Connections refused before their handshake began, by reason.",
	}, []string{"reason"})
	m.handshakeOK = handshakes.WithLabelValues(HandshakeOK)
	// Every label value exists from the start, so a rate() over a reason
	// that has not happened yet is 0, not absent.
	for _, r := range protocol.Reasons() {
		m.handshakes[r] = handshakes.WithLabelValues(r.String())
		m.disconnects[r] = disconnects.WithLabelValues(r.String())
		m.rejections[r] = rejections.WithLabelValues(r.String())
	}
	m.rtt = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    MetricKeepAliveRTT,
		Help:    "Time from sending a keep-alive to its echo.",
		Buckets: rttBuckets,
	})
	m.keepTimeouts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricKeepAliveTimeouts,
		Help: "Registered clients dropped for not echoing a keep-alive in time.",
	})
	m.shutSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricShutdownsSent,
		Help: `"130 shutdown" orders sent to clients.`,
	})
	m.shutAcked = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricShutdownsAcked,
		Help: `"130 ok" answers received to shutdown orders.`,
	})
	// What this start ended, which the counter's increase cannot tell
	// when a crash left as many sessions as the one before (metrics
	// audit: CliserUncleanRestart missed it).
	m.startEnded = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: MetricStartRestarted,
		Help: `Sessions this process's start ended as "server restarted": the last run left them connected (it did not drain).`,
	})
	m.prom.MustRegister(handshakes, disconnects, rejections, m.rtt, m.keepTimeouts, m.shutSent, m.shutAcked, m.startEnded)
	m.prom.MustRegister(storeCollectors(reg)...)
	m.addProxyMetrics()
	m.addCapMetric()
	m.handler = promhttp.HandlerFor(m.prom, promhttp.HandlerOpts{Registry: m.prom})
	return m
}

// Registry is the private Prometheus registry, for tests and for callers
// that add collectors of their own. Safe from any goroutine.
func (m *Metrics) Registry() *prometheus.Registry { return m.prom }

// Handler serves the metrics in the Prometheus text format (or another
// format the scraper asks for). Safe for concurrent use.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Handshake implements reactor.Observer. Safe for concurrent use.
func (m *Metrics) Handshake(result protocol.Reason) {
	if result == protocol.ReasonNone {
		m.handshakeOK.Inc()
		return
	}
	inc(m.handshakes[result])
}

// Disconnected implements reactor.Observer. Safe for concurrent use.
func (m *Metrics) Disconnected(reason protocol.Reason) {
	inc(m.disconnects[reason])
	if reason == protocol.ReasonKeepaliveTimeout {
		m.keepTimeouts.Inc()
	}
}

// Restarted counts n sessions that the process's start ended ("server
// restarted": connected when the last run died), which no reactor saw
// end. Call it once the admin API is up, so that its stats' window has
// them too. Safe for concurrent use.
func (m *Metrics) Restarted(n int) {
	if c := m.disconnects[protocol.ReasonServerRestarted]; c != nil && n > 0 {
		c.Add(float64(n))
	}
	m.startEnded.Set(float64(n))
}

// KeepAliveRTT implements reactor.Observer. Safe for concurrent use.
func (m *Metrics) KeepAliveRTT(d time.Duration) { m.rtt.Observe(d.Seconds()) }

// ShutdownSent implements reactor.Observer. Safe for concurrent use.
func (m *Metrics) ShutdownSent() { m.shutSent.Inc() }

// ShutdownAcked implements reactor.Observer. Safe for concurrent use.
func (m *Metrics) ShutdownAcked() { m.shutAcked.Inc() }

// Rejected implements reactor.Observer. Safe for concurrent use.
func (m *Metrics) Rejected(reason protocol.Reason) { inc(m.rejections[reason]) }

// inc skips a reason this build has no counter for (ReasonNone, or a value
// past the enum), rather than panic on an event loop.
func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}
