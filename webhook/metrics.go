package webhook

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/prom"
)

// Metric names (EVENTS.md, docs/operations.md).
const (
	MetricRequests   = "cliser_webhook_requests_total"
	MetricLag        = "cliser_webhook_lag_events"
	MetricDropped    = "cliser_webhook_events_dropped_total"
	MetricDelivered  = "cliser_webhook_events_delivered_total"
	MetricDisabled   = "cliser_webhook_disabled"
	MetricDelivering = "cliser_webhook_delivering"
	MetricCursorErrs = "cliser_webhook_cursor_errors_total"
	MetricCursorLost = "cliser_webhook_cursor_lost_total"
	MetricUnasked    = "cliser_webhook_unasked_answers_total"
)

// Result labels of MetricRequests.
const (
	ResultOK      = "ok"       // 2xx: the batch is acknowledged
	ResultGone    = "gone"     // 410: the webhook is disabled
	Result3xx     = "http_3xx" // a redirect, not followed
	Result4xx     = "http_4xx" // 429 included
	Result5xx     = "http_5xx" // 503 included
	ResultTimeout = "timeout"  // no whole answer within the timeout
	ResultError   = "error"    // no answer: refused, reset, DNS, TLS
)

type metrics struct {
	requests   *prometheus.CounterVec
	requestOK  prometheus.Counter // requests' "ok", looked up once: one a batch
	dropped    prometheus.Counter
	delivered  prometheus.Counter
	disabled   prometheus.Gauge
	delivering prometheus.Collector
	cursorErrs prometheus.Counter
	unasked    prometheus.Counter
	lag        prometheus.Collector
}

// newMetrics makes the metrics; lag and delivering are read when scraped.
func newMetrics(lag, delivering func() float64) *metrics {
	m := &metrics{
		requests: prom.CounterVec(MetricRequests,
			`Webhook requests by result: "ok" (2xx), "gone" (410), "http_3xx", "http_4xx", "http_5xx", "timeout", "error".`,
			"result", ResultOK, ResultGone, Result3xx, Result4xx, Result5xx, ResultTimeout, ResultError),
		dropped:    prom.Counter(MetricDropped, "Events that fell out of the log before the webhook's receiver acknowledged them."),
		delivered:  prom.Counter(MetricDelivered, "Events acknowledged by the webhook's receiver (by this node)."),
		disabled:   prom.Gauge(MetricDisabled, "1 when the receiver answered 410 Gone and the webhook is off until restart."),
		delivering: prom.GaugeFunc(MetricDelivering, "1 on the node that delivers the webhook (in a cluster, the lease holder).", delivering),
		cursorErrs: prom.Counter(MetricCursorErrs, "Failed reads or writes of the webhook's stored cursor."),
		unasked:    prom.Counter(MetricUnasked, "Connections to the webhook's receiver dropped for an answer no request asked for (a second answer to one request)."),
		lag:        prom.GaugeFunc(MetricLag, "Events in the log not yet acknowledged by the webhook's receiver, also after a 410 (0 on a node that does not deliver).", lag),
	}
	m.requestOK = m.requests.WithLabelValues(ResultOK)
	return m
}

// OffCollectors are the metrics of a server with no webhook, every one at
// 0: a scrape finds the names EVENTS.md lists whether or not one is set,
// and a dashboard or alert on them reads 0 rather than no data.
func OffCollectors() []prometheus.Collector {
	zero := func() float64 { return 0 }
	return newMetrics(zero, zero).collectors()
}

// request is the requests counter of result.
func (m *metrics) request(result string) prometheus.Counter {
	if result == ResultOK {
		return m.requestOK
	}
	return m.requests.WithLabelValues(result)
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.dropped, m.delivered, m.disabled, m.delivering, m.cursorErrs, m.unasked, m.lag}
}
