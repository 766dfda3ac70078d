package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/internal/mono"
	"github.com/cliser/cliser/internal/natsretry"
	"github.com/cliser/cliser/internal/natsstate"
	"github.com/cliser/cliser/registry"
)

// Node is one cliser node's membership of the cluster: its store (the
// registry's write-behind target), its mirror of every record, its command
// endpoint and its heartbeat.
type Node struct {
	id      string
	opts    options
	log     *zap.Logger
	nc      *nats.Conn
	link    *natsstate.State // nc's state, read without nc's lock
	js      jetstream.JetStream
	clients jetstream.KeyValue
	stream  jetstream.Stream // the clients bucket's stream, for reads by revision
	nodes   jetstream.KeyValue

	// Set by Start.
	reg   *registry.Registry
	local registry.Directory
	sub   *nats.Subscription

	metrics   metrics
	pub       publisher              // this node's asynchronous writes (publisher.go)
	own       ownSlots               // this node's records by slot (slotstore.go)
	backlog   backlog                // whether those writes are behind (backlog.go)
	aliveSeen atomic.Int64           // nodes alive at the last check
	lastBeat  atomic.Uint64          // revision of this node's last heartbeat; 0 before the first
	lastPut   atomic.Pointer[[]byte] // the last heartbeat value sent, answered or not
	// aliveKnown is the nodes alive at the last read of the heartbeats
	// that worked: with NATS away GET /v1/stats still lists them
	// (unreachable), those that hold no record included.
	aliveKnown atomic.Pointer[map[string]bool]
	// clientsMade is the clients bucket's stream's creation as this node
	// last saw it, and renewedAt when it first saw another (bucketgone.go).
	clientsMade, renewedAt atomic.Int64
	lastRenewCheck         time.Time   // the heartbeat loop's alone
	moving                 atomic.Bool // a heartbeat failed and the node moved since the last beat stored
	// noMoveUntil: a move found no other NATS server; none is tried
	// again before then (mono.Now).
	noMoveUntil atomic.Int64
	// healthySince is when this node's NATS operations last began to
	// succeed again, or its connection was last re-established without a
	// failure of theirs (restartGrace) (mono.Now; 0 while they fail).
	// Judging others lost waits a heartbeat TTL past it: after an outage
	// of NATS everyone's heartbeat has aged out, and the others need a
	// TTL to renew theirs.
	healthySince atomic.Int64
	// republishLog and lateTakeoverLog space their warnings (internal/loggate).
	republishLog, lateTakeoverLog loggate.Gate
	restarted                     atomic.Int64 // sessions of an earlier run marked at start (slotread.go)
	ends                          sessionEnds  // the spill file's, for Start (sessionends.go)
	// eventBarrier is the event log's Stored, for takeovers (takeoverorder.go).
	eventBarrier atomic.Pointer[func(context.Context) error]
	// remoteRegistrations hears other nodes' registrations (SetRemoteRegistrations).
	remoteRegistrations atomic.Pointer[func(cid string, at time.Time)]

	mu          sync.Mutex
	connected   int                  // connected records in the index
	connectedBy map[string]int       // the same, by holding node
	index       *btree.BTreeG[entry] // every record of the bucket, by cid (index.go)
	names       []string             // holding nodes by number; names[0] is ""
	nodeNums    map[string]uint16    // the same, reversed
	self        uint16               // this node's number
	published   map[string]published // what this node last wrote per cid
	started     bool
	// ownInit collects this node's slots from the first watch's initial
	// values, for Start (loadOwnSlots); nil after.
	ownInit map[uint16]initialSlot
	// forced: slots of this node another node wrote marks into, to be
	// written again with the next flush whatever changed (Save).
	forced map[uint16]struct{}
	// marksAnswered: per slot of this node, the revision of the newest
	// write of another node into it that this node answered (the watch
	// or the store's resync, whichever saw it first), so that each live
	// client republished is counted once.
	marksAnswered map[uint16]uint64
	// foreignKeys counts keys of the per-client layout seen (ErrOldLayout).
	foreignKeys int
	// superseded counts, per slot of another node, its connected records
	// whose client has registered since on a third node: sessions their
	// holder has still to close ("replaced"), or, lost, never will
	// (superseded.go).
	superseded map[slotRef]int

	lastRev uint64 // the newest bucket revision applied to the mirror; under mu

	synced     chan struct{} // closed once the watch has delivered the initial values
	rewatch    chan struct{} // asks the watch to be made again (capacity 1)
	reconnects uint64        // nc's reconnect count at the last check; Start's, then checkLoop's only
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// published is this node's last write of a cid: which session (sid and
// connected_at name it) and the revision of its registration.
type published struct {
	sid         uint16
	connectedAt time.Time
	cstatus     bool
	rev         uint64
}

func (p published) session(r registry.Record) bool {
	return p.sid == r.SID && p.connectedAt.Equal(r.ConnectedAt)
}

// Join makes the buckets if they are missing and returns the node, not yet
// started: hand n.Store() to the registry, then call Start. nc stays the
// caller's; Close does not close it.
func Join(nc *nats.Conn, id string, opts ...Option) (*Node, error) {
	return JoinContext(context.Background(), nc, id, opts...)
}

// JoinContext is Join, given up when ctx ends. It may be called again after
// it failed: it only makes or updates the buckets (the same config each
// time) and claims nothing, so a failed try leaves nothing to undo.
func JoinContext(ctx context.Context, nc *nats.Conn, id string, opts ...Option) (*Node, error) {
	if id == "" {
		return nil, ErrNoNodeID
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	ctx, cancel := natsretry.SetupContext(ctx, o.log)
	defer cancel()
	clients, err := clientsBucket(ctx, js, o)
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", o.clientsBucket, err)
	}
	stream, err := natsretry.Setup(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return js.Stream(ctx, "KV_"+o.clientsBucket)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", o.clientsBucket, err)
	}
	nodes, ttl, err := nodesBucket(ctx, js, id, o)
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", o.nodesBucket, err)
	}
	o.heartbeatTTL = ttl
	if o.checkInterval <= 0 {
		o.checkInterval = o.heartbeatTTL / 2
	}
	runCtx, runCancel := context.WithCancel(context.Background())
	node := &Node{
		id: id, opts: o, log: o.log.With(zap.String("node", id)),
		nc: nc, link: natsstate.Of(nc), js: js, clients: clients, stream: stream, nodes: nodes,
		metrics:       newMetrics(),
		connectedBy:   make(map[string]int),
		index:         newIndex(),
		names:         []string{"", id},
		nodeNums:      map[string]uint16{id: 1},
		self:          1,
		published:     make(map[string]published),
		forced:        make(map[uint16]struct{}),
		marksAnswered: make(map[uint16]uint64),
		superseded:    make(map[slotRef]int),
		synced:        make(chan struct{}),
		rewatch:       make(chan struct{}, 1),
		ctx:           runCtx, cancel: runCancel,
	}
	node.clientsMade.Store(stream.CachedInfo().Created.UnixNano())
	return node, nil
}

// ID is the node's id. Safe from any goroutine.
func (n *Node) ID() string { return n.id }

// HeartbeatTTL is the cluster's heartbeat, which this node keeps: its
// WithHeartbeatTTL, or the live cluster's when that differs (nodesBucket).
// Safe from any goroutine.
func (n *Node) HeartbeatTTL() time.Duration { return n.opts.heartbeatTTL }

// Start serves the node: heartbeat, mirror watch (and takeover), command
// endpoint, lost-node checks. reg is this node's registry (made with
// registry.WithStore(n.Store()) and registry.WithNode(n.ID())); broadcast,
// when not nil, is how a shutdown-all reaches this node's clients (the
// reactor's ShutdownAll). It returns once the mirror holds every record
// and this node's records left connected by an earlier run of it are
// marked "server restarted". Call it before the reactor accepts clients;
// safe from any goroutine, a second call returns ErrStarted.
func (n *Node) Start(reg *registry.Registry, broadcast func(text string) int) error {
	n.mu.Lock()
	if n.started {
		n.mu.Unlock()
		return ErrStarted
	}
	n.started = true
	n.reg = reg
	n.local = registry.NewLocalDirectory(reg, broadcast)
	n.mu.Unlock()

	if err := n.claimID(); err != nil {
		return err
	}
	if err := n.beat(n.opts.opTimeout, true); err != nil {
		return err
	}
	n.mu.Lock()
	n.ownInit = make(map[uint16]initialSlot)
	n.mu.Unlock()
	// Reconnects from here on are news to the checks; those before came
	// before the watch, and before the grace that Start begins.
	n.reconnects = n.link.Reconnects()
	w, err := n.watchRecords(n.ctx, 0)
	if err != nil {
		return fmt.Errorf("cluster: watch %s: %w", n.opts.clientsBucket, err)
	}
	n.wg.Add(1)
	go n.watch(w)
	select {
	case <-n.synced:
	case <-time.After(time.Minute):
		return fmt.Errorf("cluster: watch %s: no initial values within a minute", n.opts.clientsBucket)
	}
	n.mu.Lock()
	init, foreign := n.ownInit, n.foreignKeys
	n.ownInit = nil
	n.mu.Unlock()
	if foreign > 0 {
		n.cancel()
		n.wg.Wait()
		return fmt.Errorf("%w (%d such keys in %s)", ErrOldLayout, foreign, n.opts.clientsBucket)
	}
	n.loadOwnSlots(init)
	sub, err := n.nc.Subscribe(n.subject(n.id), n.serveCommand)
	if err != nil {
		return fmt.Errorf("cluster: subscribe: %w", err)
	}
	n.sub = sub
	n.healthySince.Store(mono.Now())
	n.wg.Add(2)
	go n.heartbeatLoop()
	go n.checkLoop()
	n.log.Info("cluster: node started", zap.String("bucket", n.opts.clientsBucket))
	return nil
}

// Close stops the node's goroutines and, when NATS is still reachable,
// removes its heartbeat so the others need not wait for it to age out.
// The records it holds stay as the registry's last flush left them: call
// it after the registry's final Flush. Safe from any goroutine, once.
func (n *Node) Close() error {
	n.cancel()
	if n.sub != nil {
		_ = n.sub.Unsubscribe()
	}
	n.wg.Wait()
	rev := n.lastBeat.Load()
	if n.link.Closed() || rev == 0 {
		return nil
	}
	if !n.link.Connected() {
		// NATS is away: the delete could only wait out its timeout (5 s
		// of a stop's 10) and fail, and the stop then exited 1 though
		// nothing was lost. The key ages out in a TTL by itself; until
		// then the others count this node as live, and a restart under
		// its id waits half a TTL, as after a crash.
		n.log.Info("cluster: NATS is away; the heartbeat is left to age out", zap.String("nats", n.link.String()),
			zap.Duration("ttl", n.opts.heartbeatTTL))
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.opTimeout)
	defer cancel()
	// Only this node's own last heartbeat: never another node's under the
	// same id (see ErrNodeIDInUse).
	err := n.nodes.Delete(ctx, keyOf(n.id), jetstream.LastRevision(rev))
	if isConflict(err) {
		err = n.removeUnansweredBeat(ctx)
	}
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !isConflict(err) {
		return fmt.Errorf("cluster: remove heartbeat: %w", err)
	}
	return nil
}

// removeUnansweredBeat removes this node's heartbeat when the bucket holds
// the last one it sent, landed but never answered (Close cancelled the
// beat in flight), so lastBeat is behind it. Left, it kept the stopped
// node live to the others for a TTL. Any other value is another run's
// under this id, and stays.
func (n *Node) removeUnansweredBeat(ctx context.Context) error {
	e, err := n.nodes.Get(ctx, keyOf(n.id))
	if err != nil {
		return err
	}
	if sent := n.lastPut.Load(); sent == nil || !bytes.Equal(e.Value(), *sent) {
		return nil
	}
	return n.nodes.Delete(ctx, keyOf(n.id), jetstream.LastRevision(e.Revision()))
}

func (n *Node) subject(node string) string {
	return n.opts.subjectPrefix + ".node." + keyOf(node) + ".cmd"
}

func (n *Node) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), n.opts.opTimeout)
}
