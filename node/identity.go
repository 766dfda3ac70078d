package node

import (
	"context"
	"fmt"
	"path/filepath"

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
	// srv is set once the reactor exists; the closers need it.
	srv *reactor.Server
}

// startIdentity opens the identity store (bbolt in the data dir on a single
// node, none in memory) and loads it, before the reactor accepts anyone.
// In cluster mode the store is the cluster's JetStream buckets.
func startIdentity(ctx context.Context, o *options, b *backend, reg *registry.Registry, extra ...identity.Option) (*identityRun, error) {
	run := &identityRun{}
	st, err := openIdentityStore(o, b)
	if err != nil {
		return nil, err
	}
	run.store = st
	opts := []identity.Option{
		identity.WithLogger(o.log),
		identity.WithCloser(func(cid string, r protocol.Reason) {
			if conn, err := reg.Conn(cid); err == nil {
				_ = conn.Close(r)
			}
		}),
		identity.WithAddrCloser(func(match func(string) bool, r protocol.Reason) {
			if run.srv != nil {
				run.srv.CloseWhere(match, r)
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
// and watched by every node), bbolt in the data dir, or nil (memory).
func openIdentityStore(o *options, b *backend) (identity.Store, error) {
	switch {
	case b.node != nil:
		st, err := b.node.IdentityStore()
		if err != nil {
			return nil, fmt.Errorf("--cluster: identity: %w", err)
		}
		return st, nil
	case o.dataDir != "":
		path, starting := filepath.Join(o.dataDir, boltstore.FileName),
			"starting with no credentials and no bans (every client ID falls back to the shared password)"
		warnIfEmpty(path, "identity", starting, o.log)
		warnIfMissing(b, path, "identity", starting, o.log)
		bs, err := boltstore.Open(o.dataDir, boltstore.WithLogger(o.log))
		if err != nil {
			return nil, dataDirError(o.dataDir, err)
		}
		return bs, nil
	}
	return nil, nil
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
