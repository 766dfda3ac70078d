package admin

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/ipkey"
)

// Option configures an API (functional options).
type Option func(*options)

type options struct {
	tokens  *Tokens
	ready   func() bool
	metrics *Metrics
	log     *zap.Logger
	// broadcast sends 130 to every connected client and says how many; by
	// default one command per registry.Conn.
	broadcast func(text string) int
	// directory replaces the local registry as what the API reads and
	// commands (cluster mode).
	directory Directory
	// identity serves the credentials and bans endpoints; nil: 404.
	identity *identity.Service
	// events is the event log the events endpoints read; nil: none.
	events events.Reader
	// maxConns caps the listener's open connections (limit.go).
	maxConns int
	// live is the liveness check behind /healthz (probes.go).
	live func() bool
	// allowedHosts are host names a request's Host may name (guard.go).
	allowedHosts map[string]bool
	// authFailLimit wrong tokens per authFailWindow and IP, then 429.
	authFailLimit  int
	authFailWindow time.Duration
	// ipv6GuardBits: the limit counts an IPv6 client by its network of
	// this many bits (ipkey.Of).
	ipv6GuardBits int
	// readyChecks fail /readyz while one has an error (probes.go).
	readyChecks []func() error
	// notes say in /readyz's body what else ails the server (probes.go).
	notes []healthNote
	// collectors are added to metrics' registry: the process's own, whose
	// owners (the log's sink) the API does not otherwise know.
	collectors []prometheus.Collector
	// ui serves the dashboard at /ui/ (options_ui.go); nil: no dashboard.
	ui http.Handler
	// statsInterval is the sampling period of GET /v1/stats (stats.go).
	statsInterval time.Duration
	prior         []priorDisconnects // WithPriorDisconnects
	// nodes gives GET /v1/stats every node's figures (stats_nodes.go).
	nodes Nodes
}

func defaultOptions() options {
	return options{
		ready:          func() bool { return true },
		live:           func() bool { return true },
		maxConns:       DefaultMaxConns,
		log:            zap.NewNop(),
		authFailLimit:  DefaultAuthFailLimit,
		authFailWindow: defaultAuthFailWindow,
		ipv6GuardBits:  ipkey.DefaultIPv6Prefix,
		statsInterval:  defaultStatsInterval,
	}
}

// WithCollectors adds cs to the /metrics page (WithMetrics' registry).
func WithCollectors(cs ...prometheus.Collector) Option {
	return func(o *options) { o.collectors = append(o.collectors, cs...) }
}

// WithToken makes every endpoint but /healthz and /readyz want
// "Authorization: Bearer <token>". An empty token leaves the API open.
func WithToken(token string) Option {
	if token == "" {
		return WithTokens(nil)
	}
	return WithTokens(NewTokens(token))
}

// WithTokens is WithToken for a set of tokens that can be swapped while
// the API serves (Tokens.Set); nil or empty leaves the API open.
func WithTokens(t *Tokens) Option { return func(o *options) { o.tokens = t } }

// WithReady sets the intake check behind /readyz and behind the commands'
// 503 (reactor.Server.Ready: started and not draining); what else /readyz
// wants is WithReadyCheck's. By default the API is always ready.
func WithReady(ready func() bool) Option {
	return func(o *options) {
		if ready != nil {
			o.ready = ready
		}
	}
}

// WithMetrics serves m on GET /metrics. Without it /metrics is 404.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithLogger sets the zap logger for the API's own events (commands sent,
// HTTP server errors). Tokens are never logged.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithBroadcast sets how POST /v1/shutdown reaches every client: the
// reactor's ShutdownAll queues one task per event loop instead of one per
// client. Without it the API commands each registry.Conn in turn.
func WithBroadcast(shutdownAll func(text string) int) Option {
	return func(o *options) { o.broadcast = shutdownAll }
}

// WithDirectory makes the API read records and send commands through d
// instead of the registry given to New: in cluster mode, the cluster's
// view, so any node answers for the whole cluster. WithBroadcast is then
// d's business.
func WithDirectory(d Directory) Option { return func(o *options) { o.directory = d } }

// WithIdentity serves the credentials and bans endpoints (IDENTITY.md)
// from ids. Without it they answer 404.
func WithIdentity(ids *identity.Service) Option { return func(o *options) { o.identity = ids } }

// WithPriorDisconnects adds to GET /v1/stats' disconnects the ends a
// previous run of this node logged within StatsWindow before this start
// (by reason, as of at, the newest of them): a graceful restart's own
// "server shutting down" ends were the previous process's. Each call adds
// one such group, which leaves the window StatsWindow after its at: give
// the ends in groups of close times, so that none is counted long past it.
func WithPriorDisconnects(at time.Time, byReason map[string]int) Option {
	return func(o *options) { o.prior = append(o.prior, priorDisconnects{at, byReason}) }
}

// priorDisconnects is one WithPriorDisconnects.
type priorDisconnects struct {
	at       time.Time
	byReason map[string]int
}
