package cluster_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
)

// Two operators writing one key through two nodes at once: every node
// ends up enforcing what the bucket holds. Before, the node whose write
// returned after the other node's newer write had reached it through its
// watch or a notice set its own write into memory anyway, and kept it:
// one node admitted only the first enrollment's secret and the others
// only the second's, and a ban made again through one node as another
// lifted it stayed on that node alone (seen on three cliser processes, in
// about half of such enrollments).
func TestConcurrentWritesOfOneKeyAgreeOnEveryNode(t *testing.T) {
	url := runNATS(t)
	noFlaps := node.WithIdentityOptions(identity.WithFlapping(0, 0, 0)) // Admit below counts registrations
	nodes := []*idNode{
		startIdentityNode(t, url, "race-1", noFlaps),
		startIdentityNode(t, url, "race-2", noFlaps),
		startIdentityNode(t, url, "race-3", noFlaps),
	}
	ctx := t.Context()
	creds, bans := bucketKV(t, url, cluster.CredentialsBucket), bucketKV(t, url, cluster.BansBucket)
	both := func(a, b func()) {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a() }()
		go func() { defer wg.Done(); b() }()
		wg.Wait()
	}

	for i := range 15 {
		cid := fmt.Sprintf("race-cred-%d", i)
		var s1, s2 string
		both(func() {
			var err error
			s1, _, err = nodes[0].svc.Enroll(ctx, cid, 0)
			assert.NoError(t, err)
		}, func() {
			var err error
			s2, _, err = nodes[1].svc.Enroll(ctx, cid, 0)
			assert.NoError(t, err)
		})
		e, err := creds.Get(ctx, cid)
		require.NoError(t, err)
		stored, err := identity.DecodeCredential(e.Value())
		require.NoError(t, err)
		d1, d2 := identity.Digest([]byte(s1)), identity.Digest([]byte(s2))
		require.True(t, stored.Digest == d1 || stored.Digest == d2)
		for _, n := range nodes {
			assert.Eventually(t, func() bool {
				return n.svc.Admit(cid, &stored.Digest, false) == protocol.ReasonNone &&
					n.svc.Admit(cid, &d1, false) != n.svc.Admit(cid, &d2, false)
			}, 3*time.Second, 5*time.Millisecond, "%s on %s: admits a secret other than the bucket's", cid, n.id)
		}
	}

	for i := range 15 {
		v := fmt.Sprintf("race-ban-%d", i)
		k := identity.BanKey{Kind: identity.KindCID, Value: v}
		_, err := nodes[0].svc.AddBan(ctx, k.Kind, v, "first", 0)
		require.NoError(t, err)
		for _, n := range nodes {
			n.waitBan(t, v, true)
		}
		both(func() {
			_, err := nodes[0].svc.AddBan(ctx, k.Kind, v, "again", 0)
			assert.NoError(t, err)
		}, func() {
			if err := nodes[1].svc.DeleteBan(ctx, k.Kind, v); !errors.Is(err, identity.ErrNotFound) {
				assert.NoError(t, err)
			}
		})
		_, err = bans.Get(ctx, "cid."+v)
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			require.NoError(t, err)
		}
		stored := err == nil
		for _, n := range nodes {
			assert.Eventually(t, func() bool {
				_, held := n.svc.Ban(k)
				return held == stored
			}, 3*time.Second, 5*time.Millisecond, "%s on %s: held is not the bucket's (%v)", v, n.id, stored)
		}
	}
}
