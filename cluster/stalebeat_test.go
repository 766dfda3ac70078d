package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/natskey"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
)

// A node judging whether another is lost reads its heartbeat from the
// bucket's stream leader only, as a rotation reads the credential it
// keeps for its grace. A replica that is behind — here one cut
// off from its peers, whose own copy of the key ages out while the node
// keeps beating to the leader — answers a direct get (the key-value Get)
// with "not found"; such an answer, from a NATS server restarted after the
// key had aged out there, made a node mark a live node's clients "node
// lost" in CI.
func TestHeartbeatIsReadFromTheStreamLeader(t *testing.T) {
	t.Parallel()
	nc := testkit.NATSClusterOf3WithCuts(t)
	urls := nc.URLs()
	start := func(server int, id string) *testNode {
		return startNodeOpts(t, urls[server], id, node.WithClusterReplicas(3), node.WithClusterHeartbeat(time.Second),
			node.WithNATSOptions(nats.ReconnectWait(50*time.Millisecond)))
	}
	beater := start(0, "sb-beater")
	stream := "KV_" + cluster.DefaultNodesBucket
	nc.WaitCurrent(stream)
	leader := nc.StreamLeader(stream)
	stale := 3 - leader // neither the leader nor the beater's server
	if leader == 0 {
		stale = 1
	}
	judge := start(stale, "sb-judge")
	t.Logf("nodes bucket led by server %d; the judge on server %d, cut off next", leader, stale)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The test's own reads of the cut-off replica, on a connection that
	// stays there: the judge's moves off a server its heartbeat fails on.
	_, js := testkit.JetStream(t, urls[stale])
	kv, err := js.KeyValue(ctx, cluster.DefaultNodesBucket)
	require.NoError(t, err)
	key := natskey.Escape(beater.id)
	_, err = kv.Get(ctx, key)
	require.NoError(t, err, "the beater's key before the cut")

	// A credential, rotated below while the judge's server is cut off.
	judgeStore, err := judge.node.IdentityStore()
	require.NoError(t, err)
	beaterStore, err := beater.node.IdentityStore()
	require.NoError(t, err)
	old := identity.Credential{CID: "sb-dev", Digest: [32]byte{1}, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	require.NoError(t, beaterStore.PutCredential(ctx, old))
	creds, err := js.KeyValue(ctx, cluster.CredentialsBucket)
	require.NoError(t, err)
	// Nor the credentials' leader: cut off, a leader answers reads from
	// its own copy until it steps down (not covered: see docs/cluster.md).
	credStream := "KV_" + cluster.CredentialsBucket
	nc.WaitCurrent(stream, credStream)
	for range 10 {
		if nc.StreamLeader(credStream) != stale {
			break
		}
		require.NoError(t, nc.StepDownStream(stale, credStream))
		nc.WaitCurrent(stream, credStream)
	}
	require.NotEqual(t, stale, nc.StreamLeader(credStream), "the credentials' stream stayed with the server to cut off")

	nc.Isolate(stale, true)
	defer nc.Isolate(stale, false)
	rotated := old
	rotated.Digest = [32]byte{2}
	require.NoError(t, beaterStore.PutCredential(ctx, rotated))
	require.Eventually(t, func() bool {
		get, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := kv.Get(get, key)
		return errors.Is(err, jetstream.ErrKeyNotFound)
	}, 10*time.Second, 50*time.Millisecond, "the cut-off replica never answered the live node's key as gone")

	read, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	beating, err := judge.node.Beating(read, beater.id)
	t.Logf("the judge's read from the leader, through %s: beating %v, error %v", judge.nc.ConnectedUrl(), beating, err)
	require.False(t, err == nil && !beating, "the judge read the live node as lost")
	e, err := creds.Get(ctx, "sb-dev")
	require.NoError(t, err)
	got, err := identity.DecodeCredential(e.Value())
	require.NoError(t, err)
	require.Equal(t, old.Digest, got.Digest, "the cut-off replica's copy is the one from before the rotation")
	read, cancel = context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, _, err := judgeStore.Credential(read, "sb-dev")
	require.False(t, err == nil && c.Digest == old.Digest, "the judge read the credential from before its rotation")

	// Healed, the leader answers: the beater beats, a node that never did not.
	nc.Isolate(stale, false)
	require.Eventually(t, func() bool {
		read, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		beating, err := judge.node.Beating(read, beater.id)
		return err == nil && beating
	}, 15*time.Second, 50*time.Millisecond, "the beater read as beating once the cut healed")
	// An answer, not an error: the judge may still be moving off a
	// server its heartbeat failed on while the leaders settle.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		read, cancel := context.WithTimeout(ctx, time.Second)
		beating, err = judge.node.Beating(read, "sb-nobody")
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err, "the judge answers for a node that never beat")
	require.False(t, beating, "a node that never beat")
}
