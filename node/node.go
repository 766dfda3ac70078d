package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// Node is one whole cliser node. Make it with New, run it with Start, stop
// it with Shutdown (a drain) or Close (at once). Start, Shutdown and Close
// are safe from any goroutine; the accessors are safe once Start has
// returned nil.
type Node struct {
	opts options

	// cancelStart ends a Start's waits (for NATS, for JetStream) when
	// Shutdown or Close comes meanwhile; its own lock, as Start holds mu.
	startMu     sync.Mutex
	cancelStart context.CancelFunc

	mu       sync.Mutex
	started  bool
	running  bool // Start succeeded
	stopOnce sync.Once
	stopErr  error

	wait        *natsWait      // a cluster node's wait for NATS at start; nil on a single node
	standby     *admin.Standby // the admin address until the API takes it (cluster mode)
	store       *backend
	evlog       eventLog
	reg         *registry.Registry
	stopFlusher context.CancelFunc
	flushed     chan error
	ids         *identityRun
	metrics     *admin.Metrics
	srv         *reactor.Server
	api         *admin.API
	adminSrv    *admin.Server
	hook        *webhookRun
	sink        *changeSink
	prior       priorEnds // the last run's ends in the stats' window, from the log (single node)
}

// New makes a node from opts; nothing is opened until Start.
func New(opts ...Option) *Node {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Node{opts: o}
}

// Start opens and starts every part in this order: the admin address's
// standby (probes answer 503 while the node starts; in cluster mode it
// waits for NATS and joins), the store (bbolt, or the cluster's on NATS,
// waited for until ctx ends), the event log, the registry (loaded) and its
// flusher, identity (loaded within ctx), the reactor (made, not yet
// listening), the cluster node (its mirror complete, what an earlier run
// left connected marked), the webhook, the admin API (so that /readyz says
// 503 while the reactor starts), and last the protocol's listener. On an
// error whatever was opened is closed again, and the error says what to
// fix (errors.Is(err, ErrConfig) for a configuration mistake). A Shutdown
// or Close meanwhile ends Start's waits: Start then returns an error that
// is context.Canceled, and the node does not run.
func (n *Node) Start(ctx context.Context) error {
	n.startMu.Lock()
	again := n.cancelStart != nil // a second Start must not take the first's cancel away
	if !again {
		ctx, n.cancelStart = context.WithCancel(ctx)
	}
	n.startMu.Unlock()
	if again {
		return ErrStarted
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return ErrStarted
	}
	n.started = true
	if n.opts.clustered() {
		n.wait = newNATSWait(n.opts.natsURLs, n.opts.log)
	}
	if err := n.openStandby(); err != nil {
		return err
	}
	if err := n.openRecords(ctx); err != nil {
		n.closeStandby()
		return err
	}
	if err := n.start(ctx); err != nil {
		n.release(context.Background())
		return err
	}
	n.running = true
	return nil
}

// openRecords opens the store and the event log, and loads the registry.
func (n *Node) openRecords(ctx context.Context) error {
	o := &n.opts
	sink := &changeSink{}
	n.sink = sink
	if !o.clustered() {
		sink.node = o.name // EVENTS.md: every client event names its node
	}
	store, err := openBackend(ctx, o, n.wait, cluster.WithChanges(sink.emitMarked))
	if err != nil {
		return err
	}
	regOpts := store.registryOptions()
	if o.retention != nil {
		regOpts = append(regOpts, registry.WithRetention(*o.retention))
	}
	evlog, err := openEventLog(o, store)
	if err != nil {
		_ = store.Close()
		return err
	}
	if evlog != nil {
		sink.set(evlog)
		regOpts = append(regOpts, registry.WithChanges(sink.emit))
	}
	if l, ok := evlog.(*events.Log); ok && store.Store != nil {
		logged, err := n.lastRunFromLog(ctx, l)
		if err != nil {
			_ = closeEventLog(context.Background(), evlog)
			_ = store.Close()
			return err
		}
		regOpts = append(regOpts, registry.WithLogged(logged))
	}
	regOpts = append(regOpts, registry.WithLogger(o.log)) // a failing store is logged (and /readyz says so)
	reg := registry.New(append(regOpts, o.regOpts...)...)
	loaded, err := reg.Load()
	if err != nil {
		_ = closeEventLog(context.Background(), evlog)
		_ = store.Close()
		return err
	}
	if store.node == nil && store.Store != nil {
		// from_event_log: the records the store lacked; an emptied file's
		// warning said "an empty registry" over thousands of them (ops
		// audit).
		o.log.Info("registry loaded", zap.String("data_dir", o.dataDir), zap.Int("records", loaded),
			zap.Int("from_event_log", reg.FromLog()))
	}
	if lost := reg.LostConnects(); lost > 0 {
		// Not only a kill -9's doing: a run with the log off leaves
		// the same (dashboard audit: it blamed a kill that never was).
		o.log.Warn("event log: it lacks the connects of sessions the registry's file holds (a kill -9 before the log's "+
			"write, or a run with --event-retention 0); they are logged now, before their ends", zap.Int("sessions", lost))
	}
	if store.node == nil && store.Store != nil {
		// The start's own changes (a kill -9's sessions marked ended) are
		// written before ready: on a full disk the first flush, a quarter
		// second after "cliser ready", said so first, and /readyz answered
		// 200 until then (signals audit). A failure is noted as any
		// flush's, and retried by the next.
		_ = reg.Flush()
	}
	n.store, n.evlog, n.reg = store, evlog, reg
	flushCtx, stop := context.WithCancel(context.Background())
	n.stopFlusher, n.flushed = stop, make(chan error, 1)
	go func() { n.flushed <- reg.Run(flushCtx) }()
	return nil
}

// lastRunFromLog reads the sessions the log holds for the registry's load:
// after a kill -9 the store may lag the log, or the log the store, and
// Load weighs the two, so each session ends once in the log. It keeps the
// last run's ends by reason for the stats (n.prior). A log whose newest
// sessions do not read is noted and taken as none; damage inside an
// event is an error, refused as a damaged page is: the file is named,
// and what to do about it.
func (n *Node) lastRunFromLog(ctx context.Context, l *events.Log) (registry.LogTail, error) {
	log := n.opts.log
	logged, prior, short, err := loggedSessions(ctx, l, priorSince(ctx, l, time.Now()))
	if errors.Is(err, events.ErrCorrupt) {
		return registry.LogTail{}, fmt.Errorf("event log: its newest events do not read back; cliser will not start on it: %w", err)
	}
	if err != nil {
		log.Warn("event log: its newest sessions could not be read; sessions a kill -9 left open go by the registry's records alone", zap.Error(err))
		return registry.LogTail{}, nil
	}
	n.prior = prior
	switch {
	case errors.Is(short, errPriorCapped):
		log.Info("event log: the stats count the last run's ends from the newest events only: more fell in their window",
			zap.Uint64("events_read", loggedTail+priorReadMax))
	case short != nil:
		log.Warn("event log: the stats count the last run's ends only as far back as an event that could not be read; "+
			"the counts are a floor (GET /v1/events names the damage when a read reaches it)", zap.Error(short))
	}
	return logged, nil
}

// start brings up identity, the reactor, the cluster node, the webhook,
// the admin API and the listener; release undoes what it did.
func (n *Node) start(ctx context.Context) error {
	o := &n.opts
	ids, err := startIdentity(ctx, o, n.store, n.reg, identityEventsTo(n.evlog)...)
	if err != nil {
		return err
	}
	n.ids = ids
	n.metrics = admin.NewMetrics(n.reg)
	n.metrics.WatchIdentity(ids.Service)
	n.sink.countEnds(n.metrics.Disconnected)
	adminExtra := append(n.backendsOnAdmin(), n.identityOnAdmin())
	ropts := append([]reactor.Option{reactor.WithObserver(n.metrics), reactor.WithLogger(o.log),
		reactor.WithAddr(o.listen)}, o.reactorOpts...)
	if n.srv, err = reactor.New(n.reg, append(ropts, reactor.WithIdentity(ids))...); err != nil {
		return err
	}
	ids.srv.Store(n.srv)
	n.metrics.Registry().MustRegister(admin.ConnectionGauges(n.srv.Connections, n.srv.MaxConnections)...)
	dir, err := n.joinCluster()
	if err != nil {
		return err
	}
	// The webhook before the admin API, whose /readyz says what ails it.
	if n.hook, err = startWebhook(o, n.evlog, n.store, n.metrics); err != nil {
		return err
	}
	if n.hook != nil {
		adminExtra = append(adminExtra, admin.WithHealthNote("webhook", n.hook.d.Healthy))
	}
	// The admin listener comes up before the protocol's, so that /readyz
	// can say 503 while the reactor starts.
	for _, b := range n.prior {
		adminExtra = append(adminExtra, admin.WithPriorDisconnects(b.at, b.byReason))
	}
	n.adminSrv, err = n.startAdmin(dir, append(adminExtra,
		admin.WithIdentity(ids.Service), admin.WithReadyCheck(ids.ReadyErr), admin.WithLive(n.srv.Alive),
		admin.WithHealthNote("connections", n.srv.CeilingErr), admin.WithHealthNote("clients", n.srv.RegistryFullErr))...)
	if err != nil {
		return err
	}
	// Sessions the last run left connected ended with this start: in the
	// disconnects by reason, and the stats' last minutes, as any other.
	restarted := n.reg.Restarted()
	if n.store.node != nil {
		restarted = n.store.node.Restarted()
	}
	n.metrics.Restarted(restarted)
	if err := n.srv.Start(); err != nil {
		return fmt.Errorf("listen %s: %w (set --listen to another address)", o.listen, err)
	}
	return nil
}

// identityOnAdmin registers the identity file's metrics, and returns its
// health note. A note, not a 503, as the event log's: a file is put back
// within a second; one that cannot be, or a write that fails, is a disk's
// (or NATS') fault that taking the node out of its balancer would not
// mend, and clients are still admitted from memory.
func (n *Node) identityOnAdmin() admin.Option {
	var fileHealth func() error
	if bs, ok := n.ids.store.(*boltstore.Store); ok {
		n.metrics.Registry().MustRegister(bs.Collectors()...)
		fileHealth = bs.Healthy
	}
	return admin.WithHealthNote("identity", n.ids.Healthy(fileHealth))
}

// joinCluster starts a cluster node's store, before the reactor accepts
// anyone: its mirror complete, what an earlier run left connected marked.
// The directory is nil on a single node.
func (n *Node) joinCluster() (registry.Directory, error) {
	if n.store.node == nil {
		return nil, nil
	}
	// Flapping counts the cluster's registrations of an ID, not this node's.
	n.store.node.SetRemoteRegistrations(n.ids.CountRemoteRegistration)
	if err := n.store.node.Start(n.reg, n.srv.ShutdownAll); err != nil {
		if errors.Is(err, cluster.ErrNodeIDInUse) {
			return nil, configErrorf("--node-id %s: %v", n.opts.nodeID, err) // the operator's to fix: exit 2
		}
		return nil, err
	}
	releaseSpill(n.evlog, n.store.node)
	return n.store.node.Directory(), nil
}

// backendsOnAdmin registers the metrics of this node's store and event
// log, and returns what they add to the admin API.
func (n *Node) backendsOnAdmin() []admin.Option {
	var adminExtra []admin.Option
	if n.store.node != nil { // cluster gauges and this node's cluster counters
		n.metrics.Registry().MustRegister(n.store.node.Collectors()...)
		n.metrics.Registry().MustRegister(n.wait.collectors()...)
		adminExtra = append(adminExtra, admin.WithNodes(clusterNodes{n.store.node}), admin.WithHealthNote("cluster", n.store.node.HealthNote))
	} else {
		// A full disk fails /readyz. In a cluster the store is NATS, and a
		// NATS outage would take every node out of its balancer at once
		// while each still serves its clients: cliser_cluster_nats_connected
		// says it instead (docs/cluster.md).
		adminExtra = append(adminExtra, admin.WithReadyCheck(n.reg.StoreErr), admin.WithHealthNote("registry", n.reg.UpkeepErr))
		if c, ok := n.store.Store.(collecting); ok { // the log store; none without a data dir
			n.metrics.Registry().MustRegister(c.Collectors()...)
		}
	}
	if n.evlog != nil {
		n.metrics.Registry().MustRegister(n.evlog.Collectors()...)
		adminExtra = append(adminExtra, admin.WithEvents(n.evlog), admin.WithEventsHealth(n.evlog.Healthy))
	}
	return adminExtra
}

// release closes what Start opened, when Start failed half-way: the
// admin API first (no client was admitted, so it has no drain to
// outlast, unlike Shutdown's), the store last.
func (n *Node) release(ctx context.Context) {
	if n.adminSrv != nil {
		_ = n.adminSrv.Shutdown(ctx)
	}
	n.closeStandby()
	if n.ids != nil {
		_ = n.ids.stop()
	}
	n.hook.stop()
	n.stopFlusher()
	<-n.flushed
	_ = closeEventLog(context.Background(), n.evlog)
	_ = n.store.Close()
}

// Shutdown drains and stops the node: the reactor refuses new clients and
// tells every connected one "190 server shutting down" (unless its engine
// died: nobody is left to drain), identity writes what it queued, the
// registry is flushed a last time, the webhook stops, the event log and
// the store close, and the admin API goes last: it answers reads and
// /readyz 503 while the rest drains. ctx bounds the drain and the admin
// API's last requests. It returns the errors of the reactor, identity, the
// last flush, the event log and the store; later calls return the first call's error.
// Safe from any goroutine; a node that never started returns nil, and
// one still starting stops starting (Start returns context.Canceled). A
// node is not started again after Shutdown (ErrStarted).
func (n *Node) Shutdown(ctx context.Context) error {
	n.startMu.Lock()
	if n.cancelStart != nil {
		n.cancelStart()
	}
	n.startMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.started = true
	if !n.running {
		return nil
	}
	n.stopOnce.Do(func() { n.stopErr = n.shutdown(ctx) })
	return n.stopErr
}

// Close stops the node at once: as Shutdown, but without waiting for
// connected clients to leave (they are told 190 and dropped). Safe from
// any goroutine.
func (n *Node) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.Shutdown(ctx)
	if errors.Is(err, context.Canceled) { // the drain was not waited for, as asked
		err = nil
	}
	return err
}

func (n *Node) shutdown(ctx context.Context) error {
	log := n.opts.log
	var stopErr error
	if !n.engineDied() { // a dead engine has nobody left to drain
		log.Info("stopping: refusing new clients, telling connected ones `190 server shutting down`")
		stopErr = n.srv.Stop(ctx)
	}
	idsErr := n.ids.stop()
	n.stopFlusher()
	flushErr := <-n.flushed
	// Before the store (NATS) and the log it reads: a batch in flight is
	// sent again after the restart, with the same webhook-id.
	n.hook.stop()
	// Before the log closes under them, the admin API's long-polls are
	// answered and its event streams end (their consumers go on from
	// their next against the next server); left to the admin API's own
	// stop, they held it for its whole time and were then cut off.
	if n.api != nil {
		n.api.EndEventWaits()
	}
	// After the reactor and the registry: the disconnects of the drain
	// are the log's last events. Before the store: in cluster mode that
	// drains the NATS connection the log publishes on.
	evErr := closeEventLog(ctx, n.evlog)
	closeErr := n.store.Close()
	// The admin API goes last: it answers reads and /readyz 503 while the
	// reactor drains and the registry is written. An admin request still
	// in flight when the time is up is cut off; that is no reason to fail
	// a stop whose clients and records are all in order.
	if n.adminSrv != nil {
		if err := n.adminSrv.Shutdown(ctx); err != nil {
			log.Warn("admin API closed with requests still in flight", zap.Error(err))
		}
	}
	return errors.Join(stopErr, idsErr, flushErr, evErr, closeErr)
}

// engineDied: the protocol engine stopped on its own, before any Stop.
func (n *Node) engineDied() bool {
	if n.srv.Stopping() {
		return false
	}
	select {
	case <-n.srv.Exited():
		return true
	default:
		return false
	}
}
