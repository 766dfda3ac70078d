package node

import (
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/webhook"
)

// Option configures a Node (functional options, as the other packages).
type Option func(*options)

type options struct {
	log       *zap.Logger
	dataDir   string         // "": records in memory only, no identity or event store
	retention *time.Duration // nil: the registry's and the cluster's defaults

	name      string // a single node's name (WithNodeID)
	natsURLs  string // "": a single node
	nodeID    string
	replicas  int
	heartbeat time.Duration
	natsOpts  []nats.Option
	clOpts    []cluster.Option

	listen         string
	regOpts        []registry.Option
	reactorOpts    []reactor.Option
	identityOpts   []identity.Option
	eventRetention int // 0: no event log
	hook           Webhook

	adminAddr   string // "" or "off": no admin listener
	adminTokens *admin.Tokens
	adminOpts   []admin.Option
	ui          bool
}

func defaultOptions() options {
	return options{
		log:       zap.NewNop(),
		replicas:  1,
		heartbeat: cluster.DefaultHeartbeatTTL,
		adminAddr: "off",
		listen:    reactor.DefaultAddr,
	}
}

// WithLogger is where the node and every part of it log; default none.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithDataDir keeps the registry, credentials, bans, the event log and the
// webhook's cursor in dir (bbolt files) on a single node. Without it (and
// without WithCluster) records live in memory only, and there is no event
// log.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithRetention is how long a disconnected record is kept; 0 forever.
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = &d } }

// WithCluster joins the cluster on NATS JetStream at urls (comma-separated)
// as node id: records, identity and events then live in the cluster, not
// in the data dir.
func WithCluster(urls, id string) Option {
	return func(o *options) { o.natsURLs, o.nodeID = urls, id }
}

// WithNodeID names a single node: the node of every client event and of
// the sessions of a client's history (EVENTS.md); "" (the default) names
// none. In a cluster WithCluster's id names the node, and this is unused.
func WithNodeID(id string) Option { return func(o *options) { o.name = id } }

// WithClusterReplicas is the replicas of the cluster's JetStream buckets
// and stream; default 1.
func WithClusterReplicas(n int) Option { return func(o *options) { o.replicas = max(n, 1) } }

// WithClusterHeartbeat is how long this node's heartbeat lives unrenewed
// (cluster.WithHeartbeatTTL), also the webhook lease's life.
func WithClusterHeartbeat(d time.Duration) Option { return func(o *options) { o.heartbeat = d } }

// WithNATSOptions adds options to the NATS connection, after the node's
// own (reconnect forever, every second).
func WithNATSOptions(opts ...nats.Option) Option {
	return func(o *options) { o.natsOpts = append(o.natsOpts, opts...) }
}

// WithClusterOptions adds options to cluster.Join, after the node's own.
func WithClusterOptions(opts ...cluster.Option) Option {
	return func(o *options) { o.clOpts = append(o.clOpts, opts...) }
}

// WithRegistryOptions adds options to registry.New, after the node's own.
func WithRegistryOptions(opts ...registry.Option) Option {
	return func(o *options) { o.regOpts = append(o.regOpts, opts...) }
}

// WithListen is the protocol's TCP address; default reactor.DefaultAddr.
// Tests give 127.0.0.1:0.
func WithListen(addr string) Option { return func(o *options) { o.listen = addr } }

// WithReactorOptions configures the protocol engine: passwords,
// keep-alive, limits. The node adds its observer (the admin metrics), its
// logger before them, and the identity service after them.
func WithReactorOptions(opts ...reactor.Option) Option {
	return func(o *options) { o.reactorOpts = append(o.reactorOpts, opts...) }
}

// WithIdentityOptions configures the identity service (credentials,
// flapping); the node adds its store, logger, closers and events.
func WithIdentityOptions(opts ...identity.Option) Option {
	return func(o *options) { o.identityOpts = append(o.identityOpts, opts...) }
}

// WithEventRetention turns the event log on, keeping the newest n events;
// 0 (the default) turns it off. It needs a data dir or a cluster.
func WithEventRetention(n int) Option { return func(o *options) { o.eventRetention = n } }

// Webhook is where the event log is delivered (EVENTS.md "Webhooks").
type Webhook struct {
	URL    string // "": no delivery
	Signer *webhook.Signer
	Batch  int
	Linger time.Duration
}

// WithWebhook delivers every event of the log to w.URL; it needs the
// event log.
func WithWebhook(w Webhook) Option { return func(o *options) { o.hook = w } }

// WithAdmin serves the admin API, metrics and probes on addr; "off" (the
// default) serves none.
func WithAdmin(addr string) Option { return func(o *options) { o.adminAddr = addr } }

// WithAdminToken makes the admin API want "Authorization: Bearer token";
// "" wants none. The token is never logged.
func WithAdminToken(token string) Option {
	if token == "" {
		return WithAdminTokens(nil)
	}
	return WithAdminTokens(admin.NewTokens(token))
}

// WithAdminTokens is WithAdminToken for a set that `cliser serve` swaps
// on SIGHUP (--admin-token-file); nil or empty wants none.
func WithAdminTokens(t *admin.Tokens) Option { return func(o *options) { o.adminTokens = t } }

// WithAdminOptions adds options to the admin API, after the node's own.
func WithAdminOptions(opts ...admin.Option) Option {
	return func(o *options) { o.adminOpts = append(o.adminOpts, opts...) }
}

// WithUI serves the dashboard at /ui/ on the admin listener.
func WithUI(on bool) Option { return func(o *options) { o.ui = on } }

func (o *options) clustered() bool { return o.natsURLs != "" }

func (o *options) adminOff() bool { return o.adminAddr == "" || o.adminAddr == "off" }
