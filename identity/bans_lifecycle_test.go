package identity_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
)

// A ban made again with the same reason and terms is still the newer ban:
// its "at" is the one held and listed, not the first's (mutant: sameBan
// without its At, which took the new ban for an echo of the old).
func TestServiceBanMadeAgainWithTheSameTermsIsTheNewOne(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{})
	ctx := t.Context()
	first, err := s.AddBan(ctx, identity.KindCID, "dev-1", "stolen", 0)
	require.NoError(t, err)
	again, err := s.AddBan(ctx, identity.KindCID, "dev-1", "stolen", 0)
	require.NoError(t, err)
	require.True(t, again.At.After(first.At))
	held, ok := s.Ban(again.Key())
	require.True(t, ok)
	assert.True(t, held.At.Equal(again.At), "held the ban made at %s, not the one made again at %s", held.At, again.At)
}

// A lifted net ban admits its network again at once (mutant: dropBan
// without its recount, which left the network in the list AddrBanned
// walks, refusing its addresses with 190 banned until the next ban).
func TestServiceLiftedNetBanAdmitsItsNetwork(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{})
	ctx := t.Context()
	_, err := s.AddBan(ctx, identity.KindNet, "10.3.0.0/16", "", 0)
	require.NoError(t, err)
	require.True(t, s.AddrBanned("10.3.1.1"))
	require.NoError(t, s.DeleteBan(ctx, identity.KindNet, "10.3.0.0/16"))
	assert.False(t, s.AddrBanned("10.3.1.1"), "the lifted ban still refuses its network")
}

// A ban that has ended is none before the sweep drops it too: not shown,
// and its delete is a 404 (DeleteBan: "an expired one counts as none").
func TestServiceEndedBanIsNoneBeforeTheSweep(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{}, identity.WithSweepInterval(time.Hour))
	b, err := s.AddBan(t.Context(), identity.KindIP, "192.0.2.7", "", 20*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return time.Now().After(*b.Until) }, 5*time.Second, time.Millisecond)
	_, ok := s.Ban(b.Key())
	assert.False(t, ok, "an ended ban is shown")
	require.ErrorIs(t, s.DeleteBan(t.Context(), identity.KindIP, "192.0.2.7"), identity.ErrNotFound)
}

// An operator's ip or net ban closes the live sessions it matches, those
// whose address is written IPv4-mapped (a dual-stack listener's) too, as
// AddrBanned refuses them (mutant: the close matched the written form).
func TestServiceAddressBanClosesMappedAddresses(t *testing.T) {
	var mu sync.Mutex
	var matches []func(string) bool
	s := start(t, t.TempDir(), &recorder{}, identity.WithAddrCloser(func(match func(string) bool, r protocol.Reason) {
		assert.Equal(t, protocol.ReasonBanned, r)
		mu.Lock()
		matches = append(matches, match)
		mu.Unlock()
	}))
	ctx := t.Context()
	_, err := s.AddBan(ctx, identity.KindIP, "192.0.2.7", "", 0)
	require.NoError(t, err)
	_, err = s.AddBan(ctx, identity.KindNet, "10.4.0.0/16", "", 0)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, matches, 2)
	ip, nw := matches[0], matches[1]
	assert.True(t, ip("192.0.2.7"))
	assert.True(t, ip("::ffff:192.0.2.7"), "the ip ban left the mapped address's session")
	assert.False(t, ip("192.0.2.8"))
	assert.True(t, nw("10.4.1.1"))
	assert.True(t, nw("::ffff:10.4.1.1"), "the net ban left the mapped address's session")
	assert.False(t, nw("10.5.0.1"))
}
