package events

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/prom"
)

// Metric names (docs/events.md).
const (
	MetricEvents        = "cliser_events_total"
	MetricDropped       = "cliser_events_dropped_total"
	MetricQueued        = "cliser_events_queued"
	MetricStoreErrors   = "cliser_events_store_errors_total"
	MetricNewestSeq     = "cliser_events_newest_seq"
	MetricRetainedBytes = "cliser_events_store_bytes"
	MetricHolds         = "cliser_events_holds_total"
	MetricStoreLost     = "cliser_events_store_lost_total"
	MetricUnreadable    = "cliser_events_unreadable_total" // cluster: reads that skipped a message of the stream that is no event
	// MetricWriterReconnects counts, in a cluster, the times the event
	// writer's own NATS connection (publishconn.go) was made again.
	MetricWriterReconnects = "cliser_events_nats_reconnects_total"
)

// metrics are the log's counters; the gauges read the log at scrape.
type metrics struct {
	events      *prometheus.CounterVec
	dropped     prometheus.Counter
	storeErrors prometheus.Counter
	holds       prometheus.Counter

	byType []prometheus.Counter // Types' counters by index, resolved up front: no label lookup per event
}

func newMetrics() *metrics {
	m := &metrics{
		events: prom.CounterVec(MetricEvents, "Events written into the log, by type (counted once stored; "+
			"the rest of those emitted are in cliser_events_queued or cliser_events_dropped_total).", "type"),
		dropped:     prom.Counter(MetricDropped, "Events dropped because the log's writer queue was full (the disk or NATS is behind)."),
		storeErrors: prom.Counter(MetricStoreErrors, "Failed writes of a batch of events to the log's store; the batch is retried."),
		holds:       prom.Counter(MetricHolds, "Times the cluster's event writer held its publishes back while this node's record writes were behind."),
	}
	for _, t := range Types {
		m.byType = append(m.byType, m.events.WithLabelValues(t))
	}
	return m
}

// countBlocks counts the events of blocks in cliser_events_total: an
// add a type a commit.
func (m *metrics) countBlocks(blocks [][]queued) {
	var n [256]int // by queued.typ
	for _, b := range blocks {
		for i := range b {
			if b[i].typ == 0 {
				m.events.WithLabelValues(b[i].rare.typ).Inc()
			} else {
				n[b[i].typ]++
			}
		}
	}
	m.addByType(&n)
}

// countEvents is countBlocks for the stream's batch.
func (m *metrics) countEvents(batch []Event) {
	var n [256]int // by typeIndex
	for i := range batch {
		if t := typeIndex(batch[i].Type); t > 0 {
			n[t]++
		} else {
			m.events.WithLabelValues(batch[i].Type).Inc()
		}
	}
	m.addByType(&n)
}

// addByType adds n (by typeIndex) to the known types' counters.
func (m *metrics) addByType(n *[256]int) {
	for i, c := range m.byType {
		if n[i+1] > 0 {
			c.Add(float64(n[i+1]))
		}
	}
}

// collectors are the counters and the gauges every log has.
func (m *metrics) collectors(q *queue, newest func() uint64) []prometheus.Collector {
	return []prometheus.Collector{
		m.events, m.dropped, m.storeErrors, m.holds,
		prom.GaugeFunc(MetricQueued, "Events not in the log yet: waiting for its writer, or being written.", func() float64 { return float64(q.unwritten()) }),
		prom.GaugeFunc(MetricNewestSeq, "The newest seq in the event log.", func() float64 { return float64(newest()) }),
	}
}
