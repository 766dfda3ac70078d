package identity_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
)

// nilWatchStore is a bbolt store counting its Watches (each returns nil
// at once: nothing to follow) and its Loads.
type nilWatchStore struct {
	*boltstore.Store
	watches, loads atomic.Int32
}

func (n *nilWatchStore) Watch(context.Context, func(identity.Change)) error {
	n.watches.Add(1)
	return nil
}

func (n *nilWatchStore) Load(ctx context.Context) ([]identity.Credential, []identity.Ban, error) {
	n.loads.Add(1)
	return n.Store.Load(ctx)
}

// A single node's store has nothing to watch: its Watch returns nil at
// once, and that is no failure. The service stays ready (/readyz), warns
// of nothing and reads the store no more. (Mutant: runWatch's err == nil
// dropped, which took it for a lost watch every second: ready for an
// instant between two, and a warning each time.)
func TestServiceSingleNodeWatchEndingIsNoFailure(t *testing.T) {
	st := &nilWatchStore{Store: openBolt(t)}
	core, logs := observer.New(zapcore.DebugLevel)
	s := identity.New(identity.WithStore(st), identity.WithLogger(zap.New(core)))
	require.NoError(t, s.Start(t.Context()))
	t.Cleanup(func() { _ = s.Close() })
	require.Eventually(t, func() bool { return st.watches.Load() == 1 }, 5*time.Second, time.Millisecond, "no Watch")
	// A lost watch is read again after a second: watch past that.
	require.Never(t, func() bool { return !s.Ready() || st.loads.Load() > 0 || st.watches.Load() > 1 },
		1500*time.Millisecond, time.Millisecond, "the single node's watch ending was taken for a failure")
	assert.NoError(t, s.ReadyErr())
	assert.Zero(t, logs.FilterLevelExact(zapcore.WarnLevel).Len(), "warned: %v", logs.All())
}
