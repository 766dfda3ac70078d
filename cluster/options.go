package cluster

import (
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/opt"
	"github.com/cliser/cliser/registry"
)

// Option configures a Node (functional options).
type Option func(*options)

type options struct {
	clientsBucket  string
	nodesBucket    string
	subjectPrefix  string
	heartbeatTTL   time.Duration
	checkInterval  time.Duration
	requestTimeout time.Duration
	opTimeout      time.Duration
	retention      time.Duration
	replicas       int
	log            *zap.Logger
	changes        registry.ChangeFunc
	// beforeSlotWrite, for tests: called before each slot write.
	beforeSlotWrite func(k int)
	// beforeBeat, for tests: called before each beat of the heartbeat loop.
	beforeBeat func()
	// beforeCheck, for tests: called before each lost-node check.
	beforeCheck func()
	// noBatchGet, for tests: read slots one by one, as on a NATS server
	// before 2.11, which has no batched direct get.
	noBatchGet bool
}

// Defaults. A lost node's clients are marked within HeartbeatTTL plus one
// check interval (15 s by default).
const (
	DefaultClientsBucket  = "cliser_clients"
	DefaultNodesBucket    = "cliser_nodes"
	DefaultSubjectPrefix  = "cliser"
	DefaultHeartbeatTTL   = 10 * time.Second
	defaultRequestTimeout = 3 * time.Second
)

func defaultOptions() options {
	return options{
		clientsBucket:  DefaultClientsBucket,
		nodesBucket:    DefaultNodesBucket,
		subjectPrefix:  DefaultSubjectPrefix,
		heartbeatTTL:   DefaultHeartbeatTTL,
		requestTimeout: defaultRequestTimeout,
		opTimeout:      5 * time.Second,
		replicas:       1,
		log:            zap.NewNop(),
	}
}

// WithHeartbeatTTL sets how long a node's heartbeat key lives without
// being renewed. A node renews it every third of this; the others check
// every half (unless WithCheckInterval says otherwise). Values under 1 s
// are raised to 1 s.
func WithHeartbeatTTL(d time.Duration) Option {
	return func(o *options) { o.heartbeatTTL = max(d, time.Second) }
}

// WithCheckInterval sets how often a node looks for lost nodes.
func WithCheckInterval(d time.Duration) Option {
	return func(o *options) { opt.Positive(&o.checkInterval, d) }
}

// WithRequestTimeout bounds a command routed to another node.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) { opt.Positive(&o.requestTimeout, d) }
}

// WithRetention sets the clients bucket's TTL. JetStream counts it from a
// record's last write, not from its disconnection, and expires any record
// not written for that long. A connected record stays only because its
// node rewrites it every registry checkpoint (a minute): with a retention
// shorter than that, or NATS away for longer than the retention, connected
// records age out too until the next checkpoint writes them back.
// 0 keeps records forever.
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = max(d, 0) } }

// WithReplicas sets the buckets' replica count (3 on a 3-node JetStream
// cluster). Default 1.
func WithReplicas(n int) Option { return func(o *options) { o.replicas = max(n, 1) } }

// WithLogger sets the zap logger.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithChanges hands the disconnects this node marks for others (reason
// "node lost", and "server restarted" for an earlier run of itself) to f,
// the event log's source: the registry reports its own connections, and a
// lost node can not report its own.
func WithChanges(f registry.ChangeFunc) Option { return func(o *options) { o.changes = f } }
