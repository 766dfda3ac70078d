package identity_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
)

// applyStore is a bbolt store whose Watch hands its apply to the test,
// which plays the changes other nodes made through it.
type applyStore struct {
	identity.Store
	apply atomic.Pointer[func(identity.Change)]
}

func (a *applyStore) Watch(ctx context.Context, apply func(identity.Change)) error {
	a.apply.Store(&apply)
	<-ctx.Done()
	return nil
}

// Another node's change reaches a node more than once (its notice, its
// watch, a watch made again that replays from a revision): the first
// closes what it closes, the next close nothing. A client ID whose
// credential was deleted may connect again with the shared password; a
// replay of the delete must not close it with 190 revoked. The same for
// a ban replayed. (Mutants of watch.go's apply: forgetCredential's
// answer and holdBan's ignored.)
func TestServiceChangeSeenAgainClosesNothing(t *testing.T) {
	st := &applyStore{Store: openBolt(t)}
	rec := &recorder{}
	s := startExpiry(t, st, rec, identity.WithCloser(rec.close))
	require.Eventually(t, func() bool { return st.apply.Load() != nil }, 5*time.Second, time.Millisecond, "the watch did not start")
	apply := *st.apply.Load()
	_, _, err := s.Enroll(t.Context(), "dev-1", 0)
	require.NoError(t, err)

	ban := identity.Ban{Kind: identity.KindCID, Value: "dev-2", By: identity.ByOperator, At: time.Now()}
	for range 2 {
		apply(identity.Change{CredentialDeleted: "dev-1"})
		apply(identity.Change{Ban: &ban})
	}
	assert.Equal(t, protocol.ReasonNone, s.Admit("dev-1", digest("pw"), true), "the shared password admits dev-1 again")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, []string{"dev-1 revoked", "dev-2 banned"}, rec.closed)
}

// Another node's flapping ban refuses new registrations here too, but
// closes no session: a flapping ban leaves the connected session alone
// (IDENTITY.md), on every node. (Mutant: apply's b.closes dropped, which
// closed the twins' sessions on the other nodes with 190 banned.)
func TestServiceOthersFlappingBanClosesNothing(t *testing.T) {
	st := &applyStore{Store: openBolt(t)}
	rec := &recorder{}
	s := startExpiry(t, st, rec, identity.WithCloser(rec.close))
	require.Eventually(t, func() bool { return st.apply.Load() != nil }, 5*time.Second, time.Millisecond, "the watch did not start")
	until := time.Now().Add(time.Minute)
	(*st.apply.Load())(identity.Change{Ban: &identity.Ban{Kind: identity.KindCID, Value: "twin", By: identity.ByFlapping,
		At: time.Now(), Until: &until}})
	assert.Equal(t, protocol.ReasonBanned, s.Admit("twin", nil, true), "the flapping ban is not held")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Empty(t, rec.closed, "another node's flapping ban closed a session")
}
