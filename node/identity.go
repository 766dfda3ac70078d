package node

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// identityRun is the running identity service and its store.
type identityRun struct {
	*identity.Service
	store identity.Store
	// srv is set once the reactor exists; the closers need it. Atomic:
	// a ban that arrives while the node starts runs a closer on the
	// identity service's watch goroutine.
	srv atomic.Pointer[reactor.Server]
	// lost: identity.db was found empty or missing at start (a warning
	// said so), so every enrolled client ID falls back to the shared
	// password; Healthy keeps saying it until an operator enrolls or bans
	// again (rebuilt).
	lost    error
	rebuilt atomic.Bool
	unmark  func() error // the store's mark of lost, removed once rebuilt
}

// Healthy is the identity note of /v1/health: the store's fault (store,
// when not nil: the file's), a write the store failed, or a start without
// identity.db while no credential and no operator's ban has been made
// since (a flapping ban is no operator's doing). Safe from any goroutine.
func (r *identityRun) Healthy(store func() error) func() error {
	return func() error {
		if store != nil {
			if err := store(); err != nil {
				return err
			}
		}
		if err := r.WriteErr(); err != nil {
			return err
		}
		if r.lost == nil || r.rebuilt.Load() {
			return nil
		}
		if r.operatorMadeAny() {
			if r.unmark != nil && r.unmark() != nil {
				return nil // said again at the next start, and gone then
			}
			r.rebuilt.Store(true)
			return nil
		}
		return r.lost
	}
}

// operatorMadeAny reports whether a credential or an operator's ban is
// held: the first stops the walk through the bans.
func (r *identityRun) operatorMadeAny() bool {
	if creds, _ := r.Counts(); creds > 0 {
		return true
	}
	for after := (identity.BanKey{}); ; {
		bans, more := r.Bans("", after, 1000)
		for i := range bans {
			if bans[i].By == identity.ByOperator {
				return true
			}
		}
		if !more || len(bans) == 0 {
			return false
		}
		after = bans[len(bans)-1].Key()
	}
}

// startIdentity opens the identity store (bbolt in the data dir on a single
// node, none in memory) and loads it, before the reactor accepts anyone.
// In cluster mode the store is the cluster's JetStream buckets.
func startIdentity(ctx context.Context, o *options, b *backend, reg *registry.Registry, extra ...identity.Option) (*identityRun, error) {
	run := &identityRun{}
	st, lost, err := openIdentityStore(o, b)
	if err != nil {
		return nil, err
	}
	run.lost = lost
	run.store = st
	if bs, ok := st.(*boltstore.Store); ok && lost != nil {
		run.unmark = bs.UnmarkStartedWithout
	}
	opts := []identity.Option{
		identity.WithLogger(o.log),
		identity.WithCloser(func(cid string, r protocol.Reason) {
			if conn, err := reg.Conn(cid); err == nil {
				_ = conn.Close(r)
			}
		}),
		identity.WithAddrCloser(func(match func(string) bool, r protocol.Reason) {
			if srv := run.srv.Load(); srv != nil {
				srv.CloseWhere(match, r)
			}
		}),
	}
	if st != nil {
		opts = append(opts, identity.WithStore(st))
	}
	opts = append(append(opts, o.identityOpts...), extra...)
	run.Service = identity.New(opts...)
	if err := run.Start(ctx); err != nil {
		_ = run.closeStore()
		return nil, fmt.Errorf("identity store: %w", err)
	}
	return run, nil
}

// openIdentityStore is the cluster's JetStream key-value buckets (shared
// and watched by every node), bbolt in the data dir, or nil (memory); and
// lost, what to say while a data dir's identity.db found empty or missing
// has not been enrolled into again.
func openIdentityStore(o *options, b *backend) (st identity.Store, lost, err error) {
	switch {
	case b.node != nil:
		st, err := b.node.IdentityStore()
		if err != nil {
			return nil, nil, fmt.Errorf("--cluster: identity: %w", err)
		}
		return st, nil, nil
	case o.dataDir != "":
		path, starting := filepath.Join(o.dataDir, boltstore.FileName),
			"starting with no credentials and no bans (every client ID falls back to the shared password)"
		found := !warnIfEmpty(path, "identity", starting, o.log) && !warnIfMissing(b, path, "identity", starting, o.log)
		bs, err := boltstore.Open(o.dataDir, boltstore.WithLogger(o.log))
		if err != nil {
			return nil, nil, dataDirError(o.dataDir, err)
		}
		at, marked := bs.StartedWithout()
		if !found && !marked {
			at = time.Now()
			if err := bs.MarkStartedWithout(at); err != nil {
				o.log.Warn("identity: the start without identity.db could not be marked in the new file: the next start will not say it", zap.Error(err))
			}
		}
		if !found || marked {
			lost = fmt.Errorf("identity: started at %s without the credentials and bans of %s (found empty or missing), and none has been "+
				"enrolled or banned since: every client ID falls back to the shared password; restore the file from a backup "+
				"(stop cliser first), or enroll and ban again", at.UTC().Format(time.RFC3339), path)
		}
		return bs, lost, nil
	}
	return nil, nil, nil
}

// stop ends the service (its queued writes done) and closes the store.
func (r *identityRun) stop() error {
	err := r.Close()
	if e := r.closeStore(); err == nil {
		err = e
	}
	return err
}

func (r *identityRun) closeStore() error {
	if r.store == nil {
		return nil
	}
	return r.store.Close()
}
