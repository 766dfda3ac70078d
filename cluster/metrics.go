package cluster

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/prom"
)

// Metric names of cluster mode (docs/cluster.md). Each node serves them on
// its own /metrics next to its per-node metrics; the cluster gauges are the
// same on every node (up to the watch's lag), so a dashboard takes max().
const (
	MetricClusterNodes           = "cliser_cluster_nodes"
	MetricClusterConnected       = "cliser_cluster_clients_connected"
	MetricClusterRecords         = "cliser_cluster_records"
	MetricClusterWrites          = "cliser_cluster_store_writes_total"
	MetricClusterTakeovers       = "cliser_cluster_takeovers_total"
	MetricClusterMarkedLost      = "cliser_cluster_node_lost_marked_total"
	MetricClusterRouted          = "cliser_cluster_commands_routed_total"
	MetricClusterNATSConnected   = "cliser_cluster_nats_connected"
	MetricClusterNATSReconnects  = "cliser_cluster_nats_reconnects_total"
	MetricClusterRepublished     = "cliser_cluster_republished_total"
	MetricClusterLeftCutOff      = "cliser_cluster_nats_cut_off_left_total"
	MetricClusterPublishAck      = "cliser_cluster_publish_ack_seconds"
	MetricClusterPublishInflight = "cliser_cluster_publish_inflight"
	MetricClusterIdentityNotices = "cliser_cluster_identity_notices_total"
	MetricClusterIdentityCaught  = "cliser_cluster_identity_caught_up_total"
	MetricClusterTakeoverWaits   = "cliser_cluster_takeover_event_waits_total"
	MetricClusterReportWaits     = "cliser_cluster_identity_report_waits_total"
	MetricClusterUnconfirmed     = "cliser_cluster_shutdown_all_unconfirmed_total"
	MetricClusterBucketsRemade   = "cliser_cluster_buckets_remade_total"
	writeOK, writeSkip, writeErr = "ok", "held elsewhere", "error"

	noticeApplied, noticeUnsent, noticeBad = "applied first", "unsent", "not ours"
)

// metrics are the node's counters; the gauges read the mirror at scrape.
type metrics struct {
	writes     *prometheus.CounterVec
	takeovers  prometheus.Counter
	markedLost prometheus.Counter
	routed     prometheus.Counter
	// republished counts live clients this node published again after
	// another node marked them disconnected.
	republished prometheus.Counter
	// leftCutOff counts NATS servers this node left after a beat failed
	// with the connection up (a server cut off from its peers).
	leftCutOff prometheus.Counter
	// ackSeconds is each slot write's time from its publish until the
	// flusher took its acknowledgement; inflight is how many are out.
	ackSeconds prometheus.Histogram
	inflight   prometheus.Gauge
	// notices counts identity changes announced on core NATS (identitynotice.go).
	notices *prometheus.CounterVec
	// caughtUp counts identity changes the watches missed (identitycatchup.go).
	caughtUp prometheus.Counter
	// takeoverWaits counts flushes that waited for their events (takeoverorder.go).
	takeoverWaits *prometheus.CounterVec
	// reportWaits counts closes of other nodes' identity changes (identityreport.go).
	reportWaits *prometheus.CounterVec
	// unconfirmed counts nodes that did not confirm a shutdown-all (commands.go).
	unconfirmed prometheus.Counter
	// remade counts the buckets found gone and made again (bucketgone.go).
	remade prometheus.Counter
}

func newMetrics() metrics {
	return metrics{
		writes: prom.CounterVec(MetricClusterWrites,
			`Slot writes of this node to the clients bucket: "ok", "error" (retried with the next flush); "held elsewhere" counts records this node wrote after another node registered the client since (they lose to it by revision).`,
			"result", writeOK, writeSkip, writeErr),
		takeovers:   prom.Counter(MetricClusterTakeovers, "Sessions of this node closed with 190 replaced because the client registered on another node."),
		markedLost:  prom.Counter(MetricClusterMarkedLost, `Records of lost nodes this node marked "node lost".`),
		routed:      prom.Counter(MetricClusterRouted, "Admin commands this node sent to another node by request/reply."),
		republished: prom.Counter(MetricClusterRepublished, "Live clients of this node that another node marked disconnected (it judged this node lost) and that this node's next flush wrote again."),
		leftCutOff:  prom.Counter(MetricClusterLeftCutOff, "NATS servers this node left after a heartbeat failed with the connection up (a server cut off from its peers has no quorum but answers PINGs)."),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricClusterPublishAck,
			Help:    "Time from a slot write's asynchronous publish until the flusher took its acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms to 4 s
		}),
		inflight: prom.Gauge(MetricClusterPublishInflight, "Slot writes of this node published and not yet acknowledged (at most 512)."),
		notices: prom.CounterVec(MetricClusterIdentityNotices,
			`Identity changes announced on core NATS: "applied first" (this node applied one before its watch brought it), "unsent" (this node could not announce its change; the watches carry it), "not ours" (a notice that did not parse, ignored).`,
			"result", noticeApplied, noticeUnsent, noticeBad),
		takeoverWaits: prom.CounterVec(MetricClusterTakeoverWaits,
			`Record flushes that took a client over from another node and first waited for this node's events so far to be in the event log: "stored", or "late" (the log failed or took over 2 s; the records went anyway, and the replaced session's close may come first in the log).`,
			"result", waitStored, waitLate),
		reportWaits: prom.CounterVec(MetricClusterReportWaits,
			`Credential deletes and bans of another node (or this node's echo of its own) whose closes here waited for that node's report: "reported" (it said its event is in the event log), or "late" (no report within 500 ms: closed anyway, and a close's client.disconnected may come before the change's event in the log).`,
			"result", reportCame, reportLate),
		remade:      prom.Counter(MetricClusterBucketsRemade, "Times this node found the cluster's buckets gone from NATS (restarted without its store, or deleted) and made them again."),
		unconfirmed: prom.Counter(MetricClusterUnconfirmed, "Nodes that did not confirm this node's POST /v1/shutdown in time: their clients may not have been told."),
		caughtUp:    prom.Counter(MetricClusterIdentityCaught, "Identity changes this node's watches had not brought a look (250 ms) after it first saw them, read by direct gets instead (a watch's consumer lost and not yet made again)."),
	}
}

// Collectors are the node's metrics, to register on the admin API's
// Prometheus registry (admin.Metrics.Registry). Scraping them never calls
// NATS: the gauges read the mirror and the last lost-node check. Safe from
// any goroutine.
func (n *Node) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		n.metrics.writes, n.metrics.takeovers, n.metrics.markedLost, n.metrics.routed, n.metrics.republished,
		n.metrics.leftCutOff, n.metrics.ackSeconds, n.metrics.inflight, n.metrics.notices, n.metrics.caughtUp,
		n.metrics.takeoverWaits, n.metrics.reportWaits, n.metrics.unconfirmed, n.metrics.remade,
		prom.GaugeFunc(MetricClusterNodes, "Nodes with a live heartbeat at this node's last check.",
			func() float64 { return float64(n.aliveSeen.Load()) }),
		prom.GaugeFunc(MetricClusterConnected, "Clients connected on any node, as this node's mirror of the bucket shows.",
			func() float64 { n.mu.Lock(); defer n.mu.Unlock(); return float64(n.connected) }),
		prom.GaugeFunc(MetricClusterNATSConnected, "1 while this node's NATS connection is up and its NATS operations succeed; 0 while reads come from its mirror (stale) and commands to other nodes' clients are refused.", func() float64 {
			if n.natsOK() {
				return 1
			}
			return 0
		}),
		// A blip between two operations fails none of them, so only this
		// shows it (docs/cluster.md).
		prom.CounterFunc(MetricClusterNATSReconnects, "Times this node's NATS connection was re-established after it dropped.",
			func() float64 { return float64(n.link.Reconnects()) }),
		prom.GaugeFunc(MetricClusterRecords, "Client records in the cluster, connected or not.",
			func() float64 { n.mu.Lock(); defer n.mu.Unlock(); return float64(n.index.Len()) }),
	}
}
