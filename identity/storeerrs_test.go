package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/internal/testkit"
)

// An operator's write the store fails is counted before it is answered:
// whoever got the error (the admin API's 503) reads it in
// cliser_identity_store_errors_total. Counted after, a scrape right after
// the 503 could read 0 (TestBinaryEventsAndIdentityFullDisk failed so,
// once, under load).
func TestServiceCountsAFailedWriteBeforeItsAnswer(t *testing.T) {
	bs := openBolt(t)
	s := startExpiry(t, bs, &recorder{})
	require.NoError(t, bs.Close()) // every write fails from now on
	for i := range 50 {
		_, err := s.AddBan(t.Context(), "ip", fmt.Sprintf("192.0.2.%d", i+1), "", time.Hour)
		require.Error(t, err)
		require.Equal(t, uint64(i+1), s.StoreErrors(), "write %d answered before it was counted", i+1)
	}
	assert.NoError(t, s.WriteErr(), "an operator's failed write is answered, not noted")
}

// A write nobody waits for (a flapping ban) that the store fails is kept
// for the identity note: the ban is held in memory only.
func TestServiceNotesAFailedWriteNobodyWaitedFor(t *testing.T) {
	bs := openBolt(t)
	s := startExpiry(t, bs, &recorder{}, identity.WithFlapping(2, time.Minute, time.Minute))
	require.NoError(t, bs.Close())
	for range 3 { // the third is banned for flapping
		s.Admit("twin", nil, true)
	}
	require.EqualValues(t, 1, s.FlappingBans())
	require.Eventually(t, func() bool { return s.WriteErr() != nil }, 5*time.Second, 5*time.Millisecond, "the ban's write was not noted")
	assert.ErrorContains(t, s.WriteErr(), "identity: store writes fail since")
	assert.ErrorContains(t, s.WriteErr(), "a flapping ban made meanwhile is held in memory only")
}

// On a full disk a flapping ban's write fails and is noted; once there is
// room, it is tried again by itself and lands, and only then does the
// note go (cluster audit: the ban lived in memory alone, and any other
// write that landed cleared the note).
func TestServiceWriteNoteClearsWhenTheDiskHasRoom(t *testing.T) {
	dir := testkit.SmallDisk(t, "2m")
	bs, err := boltstore.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = bs.Close() })
	s := startExpiry(t, bs, &recorder{}, identity.WithFlapping(2, time.Minute, time.Hour))
	flap := func(cid string) {
		for range 3 { // the third is banned for flapping
			s.Admit(cid, nil, true)
		}
	}
	free := testkit.FillDisk(t, dir)
	last := ""
	for i := 0; i < 5000 && s.WriteErr() == nil; i++ {
		last = fmt.Sprintf("twin-%04d", i)
		flap(last)
		if i%50 == 49 { // let the queue catch up
			require.Eventually(t, func() bool { return s.StoreErrors() > 0 || s.FlappingBans() == uint64(i+1) }, 5*time.Second, time.Millisecond)
		}
	}
	require.Eventually(t, func() bool { return s.WriteErr() != nil }, 5*time.Second, 5*time.Millisecond, "no write failed on a full disk")
	assert.ErrorContains(t, s.WriteErr(), "no space left on device")

	free()
	require.Eventually(t, func() bool { return s.WriteErr() == nil }, 5*time.Second, 5*time.Millisecond, "the failed write was not tried again")
	_, bans, err := bs.Load(context.Background())
	require.NoError(t, err)
	held := false
	for _, b := range bans {
		held = held || b.Value == last
	}
	assert.True(t, held, "the ban whose write failed is in the store once there is room")
}

// An ended ban's delete that the store fails is no write held in memory
// only: it is tried again on its own backoff and counted in
// cliser_identity_expiries_pending, and the identity note (which says a
// flapping ban is held in memory only) stays unset. Mutant Q23 noted it,
// and the note told the operator of a flapping ban that did not exist.
func TestServiceFailedExpiryIsNotNoted(t *testing.T) {
	st := &expiryStore{Store: openBolt(t)}
	st.fail.Store(1 << 20) // every delete fails
	s := startExpiry(t, st, &recorder{}, identity.WithExpiryRetry(5*time.Millisecond, 5*time.Millisecond))
	_, err := s.AddBan(t.Context(), identity.KindIP, "192.0.2.7", "", time.Millisecond)
	require.NoError(t, err)
	// Writes go one at a time: once the second failure is counted, the
	// first one's note would be made.
	require.Eventually(t, func() bool { return s.StoreErrors() >= 2 }, 5*time.Second, time.Millisecond, "the delete was not tried twice")
	assert.NoError(t, s.WriteErr())
	assert.Equal(t, 1, s.PendingExpiries())
}
