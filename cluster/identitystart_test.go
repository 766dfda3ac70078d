package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
)

// heldWatch is the cluster's identity store whose Watch waits for the
// test before it starts: the moment between Start and the watch taking
// its apply, as wide as the test wants it.
type heldWatch struct {
	*cluster.IdentityStore
	called, release chan struct{}
}

func (h *heldWatch) Watch(ctx context.Context, apply func(identity.Change)) error {
	close(h.called)
	<-h.release
	return h.IdentityStore.Watch(ctx, apply)
}

// Start returns only once the store's Watch takes this node's own writes
// to memory: before, a credential enrolled just after Start was not yet
// held, and its delete answered not found (CI, TestIdentityDeletesAreReportedByTheirNode).
func TestIdentityStartWaitsUntilOwnWritesReachMemory(t *testing.T) {
	tn := startNode(t, runNATS(t), "sw-1")
	st, err := tn.node.IdentityStore()
	require.NoError(t, err)
	held := &heldWatch{IdentityStore: st, called: make(chan struct{}), release: make(chan struct{})}
	svc := identity.New(identity.WithStore(held))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- svc.Start(ctx) }()
	<-held.called
	require.Never(t, func() bool { return len(started) > 0 }, 300*time.Millisecond, 10*time.Millisecond,
		"Start returned while the store's Watch had not taken its apply")
	close(held.release)
	require.NoError(t, <-started)
	defer func() { _ = svc.Close() }()

	_, _, err = svc.Enroll(ctx, "sw-dev", 0)
	require.NoError(t, err)
	_, ok := svc.Credential("sw-dev")
	require.True(t, ok, "the enrolment is held once Enroll returns")
	require.NoError(t, svc.DeleteCredential(ctx, "sw-dev"))
}
