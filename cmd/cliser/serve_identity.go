package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// identityConfig is the fleet identity settings of `cliser serve`
// (IDENTITY.md).
type identityConfig struct {
	requireCredentials bool
	flapLimit          int
	flapWindow         time.Duration
	flapBan            time.Duration
}

func (c *identityConfig) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&c.requireCredentials, "require-credentials", false, "refuse client IDs without a credential of their own (the server may then run with no shared password)")
	f.IntVar(&c.flapLimit, "flap-limit", identity.DefaultFlapLimit, "registrations of one client ID within --flap-window that ban it for --flap-ban; 0 disables")
	f.DurationVar(&c.flapWindow, "flap-window", identity.DefaultFlapWindow, "the window of --flap-limit")
	f.DurationVar(&c.flapBan, "flap-ban", identity.DefaultFlapBan, "how long a flapping client ID is refused new registrations")
}

func (c *identityConfig) validate() error {
	switch {
	case c.flapLimit < 0:
		return configErrorf("--flap-limit must not be negative, got %d", c.flapLimit)
	case c.flapLimit > 0 && c.flapWindow <= 0:
		return configErrorf("--flap-window must be positive, got %s", c.flapWindow)
	case c.flapLimit > 0 && c.flapBan <= 0:
		return configErrorf("--flap-ban must be positive, got %s", c.flapBan)
	}
	return nil
}

// identityRun is the running identity service and its store.
type identityRun struct {
	*identity.Service
	store identity.Store
	// srv is set once the reactor exists; the closers need it.
	srv *reactor.Server
}

// startIdentity opens the identity store (bbolt in the data dir on a single
// node) and loads it, before the reactor accepts anyone. In cluster mode the
// store is the cluster's JetStream buckets (see clusterIdentityStore).
func startIdentity(ctx context.Context, cfg *serveConfig, b *backend, reg *registry.Registry, log *zap.Logger, extra ...identity.Option) (*identityRun, error) {
	run := &identityRun{}
	var st identity.Store
	if b.node == nil {
		bs, err := boltstore.Open(cfg.dataDir)
		if err != nil {
			return nil, fmt.Errorf("data dir %s: %w", cfg.dataDir, err)
		}
		st = bs
	} else {
		var err error
		if st, err = clusterIdentityStore(b); err != nil {
			return nil, err
		}
	}
	run.store = st
	opts := []identity.Option{
		identity.WithRequireCredentials(cfg.identity.requireCredentials),
		identity.WithFlapping(cfg.identity.flapLimit, cfg.identity.flapWindow, cfg.identity.flapBan),
		identity.WithLogger(log),
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
	run.Service = identity.New(append(opts, extra...)...)
	if err := run.Start(ctx); err != nil {
		run.closeStore()
		return nil, fmt.Errorf("identity store: %w", err)
	}
	return run, nil
}

// clusterIdentityStore is the identity store of cluster mode: the
// cluster's JetStream key-value buckets, shared and watched by every node.
func clusterIdentityStore(b *backend) (identity.Store, error) {
	st, err := b.node.IdentityStore()
	if err != nil {
		return nil, fmt.Errorf("--cluster: identity: %w", err)
	}
	return st, nil
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
