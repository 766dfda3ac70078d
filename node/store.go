package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/internal/natsstate"
	"github.com/cliser/cliser/internal/natsurl"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
)

// backend is where the registry writes behind: a snapshot and a log in the
// data dir (one node), the cluster's bucket on NATS JetStream, or nothing (memory only).
// Close releases it after the registry's last flush.
type backend struct {
	registry.Store               // nil: memory only
	node           *cluster.Node // nil on a single node
	nc             *nats.Conn
	ncClosed       chan struct{} // closed by nats.go once nc is closed
	// usedBefore: a single node's data dir held the registry's log
	// before this start, so a data file missing from it was lost, not
	// yet made (warnIfMissing).
	usedBefore bool
}

// drainWait bounds Close's wait for the drained connection: nats.go's
// own drain timeout, and a little.
const drainWait = nats.DefaultDrainTimeout + time.Second

func openBackend(ctx context.Context, o *options, wait *natsWait, extra ...cluster.Option) (*backend, error) {
	log := o.log
	if !o.clustered() {
		if o.dataDir == "" {
			return &backend{}, nil
		}
		usedBefore := dataDirUsed(o.dataDir)
		registryGone := registryFilesGone(o.dataDir)
		store, err := logstore.Open(o.dataDir, logstore.WithLogger(log))
		if err == nil {
			if err = writableDir(o.dataDir); err != nil {
				_ = store.Close()
			}
		}
		if err != nil {
			return nil, dataDirError(o.dataDir, err)
		}
		warnEmptyRegistry(store, log)
		if registryGone {
			log.Warn("registry files missing from a data dir that holds identity.db or events.db (removed, or left out of a copy): "+
				"starting with an empty registry, and the clients the event log holds; if that is not expected, stop cliser and "+
				"restore "+logstore.SnapName+" and "+logstore.LogName+" from a backup", zap.String("data_dir", o.dataDir))
		}
		return &backend{Store: store, usedBefore: usedBefore}, nil
	}
	if err := spillDirReady(o.dataDir); err != nil {
		return nil, err
	}
	link, err := wait.connect(ctx, func() (*natsLink, error) { return dialNATS(o) })
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		if fix := refusal(err); fix != "" {
			return nil, configErrorf("--cluster %s: %s (%s)", wait.urls, fix, wait.scrub(err))
		}
		return nil, fmt.Errorf("--cluster %s: %s", wait.urls, wait.scrub(err))
	}
	nc := link.nc
	node, err := joinCluster(ctx, o, wait, nc, extra)
	if err != nil {
		nc.Close()
		return nil, err
	}
	log.Info("cluster: joined", zap.String("node", o.nodeID), zap.String("nats", natsurl.Strip(nc.ConnectedUrl())))
	return &backend{Store: node.Store(), node: node, nc: nc, ncClosed: link.closed}, nil
}

// joinCluster joins on nc, waiting for JetStream (natsWait.join); the
// error says what to fix. nc stays the caller's.
func joinCluster(ctx context.Context, o *options, wait *natsWait, nc *nats.Conn, extra []cluster.Option) (*cluster.Node, error) {
	opts := []cluster.Option{cluster.WithReplicas(o.replicas), cluster.WithHeartbeatTTL(o.heartbeat), cluster.WithLogger(o.log)}
	if o.retention != nil {
		opts = append(opts, cluster.WithRetention(*o.retention))
	}
	opts = append(append(opts, extra...), o.clOpts...)
	node, err := wait.join(ctx, nc, func(ctx context.Context) (*cluster.Node, error) {
		return cluster.JoinContext(ctx, nc, o.nodeID, opts...)
	})
	switch {
	case err == nil, ctx.Err() != nil:
		return node, err
	case jsRefusal(nc, err) != "":
		return nil, configErrorf("--cluster %s: %s (%s)", wait.urls, jsRefusal(nc, err), wait.scrub(err))
	}
	return nil, fmt.Errorf("--cluster %s: %w", wait.urls, err)
}

// natsLink is a NATS connection and the channel nats.go closes once it
// is closed (its ClosedHandler, the last of its callbacks).
type natsLink struct {
	nc     *nats.Conn
	closed chan struct{}
}

// dialNATS is one attempt to connect to NATS. Once up, the connection
// reconnects forever: a NATS server restarting must not stop a node that
// serves clients; writes wait in the registry's dirty set. PINGs paced by
// the heartbeat: a silent server is left before a beat lapses.
func dialNATS(o *options) (*natsLink, error) {
	log := o.log
	closed := make(chan struct{})
	var moved atomic.Bool // the last disconnect was the node's own move (nats.go's handlers run in order)
	nc, err := nats.Connect(o.natsURLs, append(append(cluster.PingOptions(o.heartbeat), nats.Name("cliser-"+o.nodeID),
		nats.MaxReconnects(-1), nats.ReconnectWait(natsRetry),
		nats.DisconnectErrHandler(func(c *nats.Conn, err error) {
			if c.IsClosed() {
				return // our own Close or drain, not a lost connection
			}
			// No error: the node's ForceReconnect, a move off a server
			// where its beats failed, which the cluster logs itself.
			moved.Store(err == nil)
			if err == nil {
				log.Debug("cluster: NATS connection closed to move to another server")
				return
			}
			log.Warn("cluster: NATS connection lost; reconnecting", zap.Error(err))
		}),
		nats.ErrorHandler(asyncErrors(log)),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logReconnect := log.Info
			if moved.Load() {
				logReconnect = log.Debug
			}
			logReconnect("cluster: NATS reconnected", zap.String("url", natsurl.Strip(c.ConnectedUrl())))
		})), o.natsOpts...)...)
	if err != nil {
		return nil, err
	}
	natsstate.Of(nc) // followed from here on: before anyone else uses nc
	return &natsLink{nc: nc, closed: closed}, nil
}

// asyncErrorPace is how often one kind of NATS asynchronous error is
// logged as a warning; the others of that kind in between go at debug.
const asyncErrorPace = 30 * time.Second

// asyncErrors logs the NATS connection's asynchronous errors (a push
// consumer's missed heartbeats, a slow consumer) through the node's log:
// one warning per kind of error a pace. Without it nats.go
// printed each to stderr as a bare text line, mid JSON log: five a second
// on every node while NATS was away ("consumer not active", one per
// watched bucket and missed heartbeat).
func asyncErrors(log *zap.Logger) nats.ErrHandler {
	var mu sync.Mutex
	last := map[string]time.Time{}
	// No field of the subscription is read: nats.go rewrites an ordered
	// consumer's Subject, under a lock of its own, when it makes it again
	// after a gap, which the drops of a slow consumer make (a data race).
	return func(_ *nats.Conn, _ *nats.Subscription, err error) {
		kind := err.Error()
		mu.Lock()
		if len(last) > 64 { // kinds are few; bounded all the same
			clear(last)
		}
		now, level := time.Now(), zap.DebugLevel
		if now.Sub(last[kind]) >= asyncErrorPace {
			last[kind], level = now, zap.WarnLevel
		}
		mu.Unlock()
		log.Log(level, "cluster: NATS reports an error on a subscription", zap.Error(err))
	}
}

// warnEmptyRegistry says so when a registry file was there but empty: the
// store starts on it as on a new one, and every record the operator
// expected would be gone without a word (a full disk or a bad copy, more
// often than a deliberate reset).
// collecting is a store that counts its own work for /metrics.
type collecting interface {
	Collectors() []prometheus.Collector
}

var _ collecting = (*logstore.Store)(nil)

func warnEmptyRegistry(store *logstore.Store, log *zap.Logger) {
	if path, starting := store.EmptyFile(); path != "" {
		log.Warn("registry file was empty (zero bytes; for registry.log, less than its 8-byte header): "+starting+
			", and the clients the event log holds, when on (the registry loaded line counts them: from_event_log)"+
			"; if that is not expected, stop cliser and restore the file from a backup", zap.String("file", path))
	}
	if store.MissingLog() {
		log.Warn("registry file missing: "+logstore.LogName+" beside "+logstore.SnapName+" (removed, or left out of a copy of the data dir): "+
			"starting from the snapshot's records; the changes since it are lost (but for the clients the event log holds, when on). If that is not expected, stop cliser and put "+
			logstore.LogName+" back from a backup", zap.String("file", filepath.Join(store.Dir(), logstore.LogName)))
	}
}

// warnIfEmpty warns (warnEmpty), and says so, when the data file at path is there but
// holds no byte. Called before bbolt opens the file: it writes a fresh
// file's pages at once, without a word.
func warnIfEmpty(path, what, starting string, log *zap.Logger) bool {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		warnEmpty(path, what, starting, log)
		return true
	}
	return false
}

// dataDirUsed: dir held the registry's log before this start, with its
// header at least, or a data file beside it. A log of no more than a
// part of its header tells nothing: a first start that failed on a full
// disk leaves an empty one and nothing else, and the next start took the
// new dir for one whose identity.db and events.db were lost, with two
// warnings and an "identity" note that stays until an operator enrolls
// or bans (edge audit).
func dataDirUsed(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, logstore.LogName))
	if err != nil {
		return false
	}
	if fi.Size() >= logHeaderLen {
		return true
	}
	for _, name := range []string{logstore.SnapName, logstore.LegacyName, boltstore.FileName, events.FileName} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// logHeaderLen is the length of registry.log's header (its magic and
// format version), which a log in use always holds.
const logHeaderLen = 8

// registryFilesGone reports whether dir holds none of the registry's files
// but another data file: every build that made those made the registry's
// too, so they were lost (black-box audit: that start said nothing).
func registryFilesGone(dir string) bool {
	for _, name := range []string{logstore.LogName, logstore.SnapName, logstore.LegacyName} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	for _, name := range []string{boltstore.FileName, events.FileName} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// warnIfMissing warns, and says so, when the data file at path is not there in a data
// dir used before: removed, or lost with a bad copy or restore, it
// starts anew as an empty one would, and that went without a word (a
// missing identity.db let every client ID in on the shared password and
// lifted every ban). Every build with the registry's log made both files,
// so only an event log that was off until now says it, once, needlessly.
func warnIfMissing(b *backend, path, what, starting string, log *zap.Logger) bool {
	if _, err := os.Stat(path); b.usedBefore && errors.Is(err, os.ErrNotExist) {
		log.Warn(what+" file is missing from a data dir that holds the registry: "+starting+
			"; if that is not expected, stop cliser and restore the file from a backup", zap.String("file", path))
		return true
	}
	return false
}

// warnEmpty says that what's file at path was empty and what starting on
// it means: more often a file lost to a full disk or a bad copy than a
// new one.
func warnEmpty(path, what, starting string, log *zap.Logger) {
	log.Warn(what+" file was empty (zero bytes): "+starting+"; if that is not expected, stop cliser and restore the file from a backup",
		zap.String("file", path))
}

// leave drains the NATS connection, or closes it while it is not up:
// with NATS away nothing can be drained, and Drain's "connection
// reconnecting" made a stop that lost nothing exit 1. What a stop did
// lose while NATS was away (records, events) is reported by their own
// closes.
func (b *backend) leave() error {
	if !natsstate.Of(b.nc).Connected() {
		b.nc.Close()
		return nil
	}
	return b.nc.Drain()
}

// registryOptions are the store's part of the registry's options.
func (b *backend) registryOptions() []registry.Option {
	var opts []registry.Option
	if b.Store != nil {
		opts = append(opts, registry.WithStore(b.Store))
	}
	if b.node != nil {
		opts = append(opts, registry.WithNode(b.node.ID()), registry.WithFlushInterval(cluster.FlushInterval))
	}
	return opts
}

// Close releases the store, and in cluster mode leaves the cluster (the
// heartbeat goes at once) and drains the NATS connection. It returns once
// the connection is closed: nats.go drains and runs its callbacks (which
// log) on goroutines of its own, and those must not outlive the node.
func (b *backend) Close() error {
	if b.Store == nil {
		return nil
	}
	err := b.Store.Close()
	if b.node != nil {
		err = errors.Join(err, b.node.Close(), b.leave())
		select {
		case <-b.ncClosed:
		case <-time.After(drainWait):
			b.nc.Close()
		}
	}
	return err
}

// spillDirReady makes a cluster node's data dir, where a stop while NATS
// is away spills the events it could not publish, at start: a file there,
// or a dir it may not make, was found only by that stop, with the events
// lost (cluster audit).
func spillDirReady(dir string) error {
	if dir == "" {
		return nil
	}
	err := os.MkdirAll(dir, 0o700)
	if errors.Is(err, syscall.ENOTDIR) {
		err = fmt.Errorf("it (or a dir above it) is a file, not a directory; give --data-dir a directory (it keeps the events "+
			"a stop while NATS is away could not publish), or move the file away: %w", err)
	}
	if err == nil {
		err = writableDir(dir)
	}
	if err != nil {
		return dataDirError(dir, err)
	}
	return nil
}

// writableDir makes and removes a file in dir: a data dir cliser may read
// but not make files in (mode 0500, its files cliser's) opened every file
// it had and reported ready, then every write that makes a file (the
// event log's seq floor, a compaction) failed, and a stop lost the events
// still queued (upgrade audit).
func writableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".cliser-write-check-*")
	if err != nil {
		return err
	}
	_ = f.Close()
	return os.Remove(f.Name())
}

// dataDirError is err from opening a file in the data dir, named by the
// dir; one of permission also says who cliser runs as and what to give
// it: "permission denied" alone left the operator to find out which user
// needs which file.
func dataDirError(dir string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) { // --data-dir names a file: the flag is the operator's to fix (exit 2)
		return configErrorf("data dir %s: %v", dir, err)
	}
	if target, dangling := danglingLink(dir); dangling && errors.Is(err, fs.ErrExist) {
		// MkdirAll's "file exists" said nothing of the link.
		return configErrorf("data dir %s is a symbolic link to %s, which does not exist: make that directory, or give --data-dir another", dir, target)
	}
	err = fmt.Errorf("data dir %s: %w", dir, err)
	if errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w: its file system is mounted read-only: remount it read-write, or give --data-dir a directory on a writable one", err)
	}
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	uid := os.Geteuid()
	if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
		// A chown of a dir that is not there fails too (cluster audit).
		return fmt.Errorf("%w: cliser runs as uid %d, which may not make it: make it for that user "+
			"(mkdir -p %s && chown %d %s; mode 0700), or give --data-dir a dir it may make", err, uid, dir, uid, dir)
	}
	return fmt.Errorf("%w: cliser runs as uid %d, which may not use it: give that user the data dir and its files "+
		"(chown -R %d %s; the dir 0700, its files 0600), or run cliser as their owner", err, uid, uid, dir)
}

// danglingLink reports whether path is a symbolic link to nothing, and
// its target.
func danglingLink(path string) (string, bool) {
	target, err := os.Readlink(path)
	if err != nil {
		return "", false
	}
	_, err = os.Stat(path)
	return target, errors.Is(err, os.ErrNotExist)
}
