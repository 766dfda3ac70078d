package cluster_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/node"
)

// quietIdentityStore starts node id, whose own identity service never
// sweeps (an hour), and returns the node's identity store: the test's
// expiries are the only ones.
func quietIdentityStore(t *testing.T, url, id string) (*testNode, *cluster.IdentityStore) {
	t.Helper()
	tn := startNodeOpts(t, url, id, node.WithIdentityOptions(identity.WithSweepInterval(time.Hour)))
	st, err := tn.node.IdentityStore()
	require.NoError(t, err)
	return tn, st
}

// endedBan is a ban of cid that ended a minute ago.
func endedBan(cid string) identity.Ban {
	until := time.Now().Add(-time.Minute).UTC()
	return identity.Ban{Kind: identity.KindCID, Value: cid, Reason: "ended", By: identity.ByOperator, At: until.Add(-time.Hour), Until: &until}
}

// A node's expiry found before the ban was made again (through another
// node) must not delete the ban made again: the delete is of the revision
// the node read, and only while that revision holds the ended ban.
func TestExpireBanLeavesABanMadeAgain(t *testing.T) {
	url := runNATS(t)
	n1, st1 := quietIdentityStore(t, url, "ea-1")
	_, st2 := quietIdentityStore(t, url, "ea-2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	old := endedBan("ea-dev")
	require.NoError(t, st1.PutBan(ctx, old))
	again := identity.Ban{Kind: identity.KindCID, Value: "ea-dev", Reason: "again", By: identity.ByOperator, At: time.Now().UTC()}
	require.NoError(t, st2.PutBan(ctx, again))

	for _, st := range []*cluster.IdentityStore{st1, st2} {
		won, err := st.ExpireBan(ctx, old)
		require.NoError(t, err)
		assert.False(t, won, "a stale expiry deleted the ban made again")
	}
	_, bans, err := st1.Load(ctx)
	require.NoError(t, err)
	require.Len(t, bans, 1)
	assert.True(t, bans[0].Same(again), "the bucket holds %+v", bans[0])
	won, err := st1.ExpireBan(ctx, endedBan("ea-never-made"))
	require.NoError(t, err)
	assert.False(t, won, "an expiry of a ban the bucket never held won")
	n1idn := &idNode{testNode: n1, svc: n1.n.Identity()}
	n1idn.waitBan(t, "ea-dev", true, "the ban made again is not enforced")
}

// Nodes that expire one ban together: one delete lands, the others learn
// that theirs did not, and none fails.
func TestExpireBanIsWonByOneNode(t *testing.T) {
	url := runNATS(t)
	var stores []*cluster.IdentityStore
	for i := range 3 {
		_, st := quietIdentityStore(t, url, "ew-"+strconv.Itoa(i+1))
		stores = append(stores, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	bans := make([]identity.Ban, 20)
	for i := range bans {
		bans[i] = endedBan("ew-dev-" + strconv.Itoa(i))
		require.NoError(t, stores[0].PutBan(ctx, bans[i]))
	}
	for i, b := range bans {
		go1 := make(chan struct{})
		var wg sync.WaitGroup
		won := make([]bool, len(stores))
		errs := make([]error, len(stores))
		for j, st := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-go1
				won[j], errs[j] = st.ExpireBan(ctx, b)
			}()
		}
		close(go1)
		wg.Wait()
		wins := 0
		for j := range stores {
			require.NoError(t, errs[j], "ban %d, store %d", i, j)
			if won[j] {
				wins++
			}
		}
		assert.Equal(t, 1, wins, "ban %d: wins %v", i, won)
	}
	_, held, err := stores[0].Load(ctx)
	require.NoError(t, err)
	assert.Empty(t, held)
}

// A node whose delete landed though its answer was lost (a publish that
// timed out without a quorum and was stored when it came back) learns
// at its next try that the delete was its own, and wins then; another
// node's try does not, and neither does a try after the answer.
func TestExpireBanAfterItsAnswerWasLost(t *testing.T) {
	url := runNATS(t)
	_, st1 := quietIdentityStore(t, url, "el-1")
	_, st2 := quietIdentityStore(t, url, "el-2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	b := endedBan("el-dev")
	require.NoError(t, st1.PutBan(ctx, b))
	_, held, err := st1.Load(ctx)
	require.NoError(t, err)
	require.Len(t, held, 1)
	b = held[0]
	require.NoError(t, st1.ExpireWithoutAnswer(ctx, b))

	won, err := st2.ExpireBan(ctx, b)
	require.NoError(t, err)
	assert.False(t, won, "another node's delete taken for this one's")
	won, err = st1.ExpireBan(ctx, b)
	require.NoError(t, err)
	assert.True(t, won, "the node's own delete, its answer lost, not recognised")
	won, err = st1.ExpireBan(ctx, b)
	require.NoError(t, err)
	assert.False(t, won, "won twice")

	// A delete whose answer was lost and that never landed (here it
	// lands and the ban is put back, as if it had not): the delete another
	// node places after it is not taken for this node's own.
	require.NoError(t, st1.PutBan(ctx, b))
	require.NoError(t, st1.ExpireWithoutAnswer(ctx, b))
	require.NoError(t, st1.PutBan(ctx, b))
	won, err = st2.ExpireBan(ctx, b)
	require.NoError(t, err)
	assert.True(t, won, "the other node's delete did not land")
	won, err = st1.ExpireBan(ctx, b)
	require.NoError(t, err)
	assert.False(t, won, "another node's delete taken for this node's unanswered one")
}
