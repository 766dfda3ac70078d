package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
)

// goneAfterLoad is a node's identity store whose credentials bucket is
// deleted right after its first Load, so the watch that follows fails
// for real: a bucket gone between the two.
type goneAfterLoad struct {
	*cluster.IdentityStore
	once sync.Once
	gone func()
}

func (g *goneAfterLoad) Load(ctx context.Context) ([]identity.Credential, []identity.Ban, error) {
	creds, bans, err := g.IdentityStore.Load(ctx)
	g.once.Do(g.gone)
	return creds, bans, err
}

// A watch that cannot be made leaves identity not ready under its own
// name (for /readyz), and ready again once the bucket reads again.
func TestIdentityWatchFailureNamesItself(t *testing.T) {
	url := runNATS(t)
	_, st := quietIdentityStore(t, url, "wf-1")
	_, js := testkit.JetStream(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := js.Stream(ctx, "KV_"+cluster.CredentialsBucket)
	require.NoError(t, err)
	cfg := stream.CachedInfo().Config
	gone := func() { require.NoError(t, js.DeleteStream(ctx, cfg.Name)) }

	svc := identity.New(identity.WithStore(&goneAfterLoad{IdentityStore: st, gone: gone}),
		identity.WithLogger(zaptest.NewLogger(t).Named("wf-svc")))
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() { _ = svc.Close() })
	require.Eventually(t, func() bool { return !svc.Ready() }, 20*time.Second, 20*time.Millisecond, "the watch did not fail")
	assert.ErrorContains(t, svc.ReadyErr(), "identity: credentials and bans not followed since")

	_, err = js.CreateStream(ctx, cfg)
	require.NoError(t, err)
	require.Eventually(t, svc.Ready, 20*time.Second, 20*time.Millisecond, "not ready after the bucket came back")
	assert.NoError(t, svc.ReadyErr())
}
