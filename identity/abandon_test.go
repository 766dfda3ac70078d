package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
)

// heldStore is a bbolt store whose PutBan of one client ID waits for
// release, so that a test can keep the write queue busy.
type heldStore struct {
	*boltstore.Store
	cid     string
	entered chan struct{}
	release chan struct{}
}

func (h *heldStore) PutBan(ctx context.Context, b identity.Ban) error {
	if b.Value == h.cid {
		close(h.entered)
		<-h.release
	}
	return h.Store.PutBan(ctx, b)
}

// An operator's write whose request ends while it waits for its turn is
// not made, and counted (cliser_identity_writes_abandoned_total): its
// answer said it failed, and the write landing later would undo that
// answer. One whose request ends once it is under way is waited for, and
// answers what the store did. Found by mutating writes.go: neither half
// was tested.
func TestServiceOperatorWriteEndedBeforeItsTurnIsNotMade(t *testing.T) {
	bs := openBolt(t)
	st := &heldStore{Store: bs, cid: "slow", entered: make(chan struct{}), release: make(chan struct{})}
	s := startExpiry(t, st, &recorder{})

	slowCtx, cancelSlow := context.WithCancel(t.Context())
	slow := make(chan error, 1)
	go func() {
		_, err := s.AddBan(slowCtx, identity.KindCID, "slow", "", 0)
		slow <- err
	}()
	select {
	case <-st.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first write did not reach the store")
	}

	cancelSlow() // its write is under way: it is waited for

	lateCtx, cancelLate := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancelLate()
	_, err := s.AddBan(lateCtx, identity.KindCID, "late", "", 0)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, uint64(1), s.AbandonedWrites())

	close(st.release)
	require.NoError(t, <-slow, "the write the store took answered failure")
	_, held := s.Ban(identity.BanKey{Kind: identity.KindCID, Value: "slow"})
	assert.True(t, held)

	// Writes go one at a time: once this one is made, the late one's turn
	// has passed.
	_, err = s.AddBan(t.Context(), identity.KindCID, "fence", "", 0)
	require.NoError(t, err)
	_, bans, err := bs.Load(t.Context())
	require.NoError(t, err)
	var stored []string
	for _, b := range bans {
		stored = append(stored, b.Value)
	}
	assert.ElementsMatch(t, []string{"slow", "fence"}, stored, "the write whose request ended before its turn was made")
	_, held = s.Ban(identity.BanKey{Kind: identity.KindCID, Value: "late"})
	assert.False(t, held)
	assert.Equal(t, uint64(1), s.AbandonedWrites())
}
