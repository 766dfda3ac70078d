package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
)

// A watch after a Load starts after the revisions the Load read, deletes
// included: it hands back nothing the Load already had, so a watch whose
// consumer lands on a server further behind than the Load's cannot hand
// back a credential the Load saw revoked. The change after the Load is
// written to the bucket by the test, as another node would without its
// notice: this store's own write is applied before it returns
// (applyOwn), so the check ran before the watch had brought anything.
func TestIdentityWatchStartsAfterLoad(t *testing.T) {
	ns := testkit.NATS(t)
	n := startNode(t, ns.ClientURL(), "n1")
	st, err := n.node.IdentityStore()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	put := func(cid string) {
		require.NoError(t, st.PutCredential(ctx, identity.Credential{CID: cid, CreatedAt: time.Now().UTC()}))
	}
	for i := range 3 {
		put(fmt.Sprintf("w-%d", i))
	}
	require.NoError(t, st.DeleteCredential(ctx, "w-0"))
	creds, _, err := st.Load(ctx)
	require.NoError(t, err)
	require.Len(t, creds, 2)

	var mu sync.Mutex
	var got []identity.Change
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- st.Watch(wctx, func(c identity.Change) { mu.Lock(); got = append(got, c); mu.Unlock() })
	}()
	val, err := identity.EncodeCredential(identity.Credential{CID: "w-3", CreatedAt: time.Now().UTC()})
	require.NoError(t, err)
	_, err = bucketKV(t, ns.ClientURL(), cluster.CredentialsBucket).Put(ctx, "w-3", val)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && got[len(got)-1].Credential != nil && got[len(got)-1].Credential.CID == "w-3"
	}, 10*time.Second, 10*time.Millisecond, "the change after the Load reaches the watch")
	stop()
	require.NoError(t, <-done)
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, got, 1, "only the change after the Load: %+v", got)
}
