package identity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
)

// The tests below pin checks that a mutation audit found no test held.

// A ban that has ended refuses no more at once, before the sweep that
// deletes it: the checks read its end, not only whether it is held. The
// bans last a second: 50 ms ended before the checks that they refuse ran
// under load (an audit saw it twice).
func TestEndedBanRefusesNoMoreBeforeTheSweep(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{}, identity.WithSweepInterval(time.Hour))
	ctx := t.Context()
	for _, b := range [][2]string{{identity.KindIP, "192.0.2.7"}, {identity.KindNet, "198.51.100.0/24"}, {identity.KindCID, "pos-1"}} {
		_, err := s.AddBan(ctx, b[0], b[1], "", time.Second)
		require.NoError(t, err)
	}
	require.True(t, s.AddrBanned("192.0.2.7"))
	require.True(t, s.AddrBanned("198.51.100.9"))
	require.Equal(t, protocol.ReasonBanned, s.Admit("pos-1", nil, true))
	require.Eventually(t, func() bool {
		return !s.AddrBanned("192.0.2.7") && !s.AddrBanned("198.51.100.9") &&
			s.Admit("pos-1", nil, true) == protocol.ReasonNone
	}, 10*time.Second, 5*time.Millisecond)
}

// A flapping ban refuses new registrations but leaves the connected
// session alone (IDENTITY.md): Recheck closes for an operator's ban only.
func TestRecheckLeavesASessionUnderAFlappingBan(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{}, identity.WithFlapping(2, time.Minute, time.Minute))
	require.Equal(t, protocol.ReasonNone, s.Admit("twin", nil, true))
	require.Equal(t, protocol.ReasonNone, s.Admit("twin", nil, true))
	require.Equal(t, protocol.ReasonBanned, s.Admit("twin", nil, true))
	assert.Equal(t, protocol.ReasonNone, s.Recheck("twin", nil, true))
}

// With credentials required, a shared password admits no one: a
// session of an ID without a credential is revoked on recheck.
func TestRecheckUnderRequiredCredentialsRevokesTheSharedPassword(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{}, identity.WithRequireCredentials(true))
	assert.Equal(t, protocol.ReasonRevoked, s.Recheck("x", digest("pw"), true))
}

// A ban's reason is at most MaxBanReason bytes (docs/identity.md).
func TestBanReasonAtMostItsLimit(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{})
	_, err := s.AddBan(t.Context(), identity.KindCID, "a", strings.Repeat("r", identity.MaxBanReason), 0)
	require.NoError(t, err)
	_, err = s.AddBan(t.Context(), identity.KindCID, "b", strings.Repeat("r", identity.MaxBanReason+1), 0)
	assert.ErrorIs(t, err, identity.ErrBadBan)
}

// --flap-limit 0 turns flapping control off, whatever the window and the
// ban's length.
func TestFlapLimitZeroBansNoOne(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{}, identity.WithFlapping(0, time.Minute, 5*time.Minute))
	for range 20 {
		require.Equal(t, protocol.ReasonNone, s.Admit("loop", nil, true))
	}
	assert.Zero(t, s.FlappingBans())
	_, banned := s.Ban(identity.BanKey{Kind: identity.KindCID, Value: "loop"})
	assert.False(t, banned)
}

// A network written as IPv4-mapped IPv6 bans the IPv4 addresses it
// holds: the checks see a client's address unmapped, so a /96 of
// ::ffff:0:0 is all of IPv4.
func TestMappedNetworkBanIsItsIPv4Network(t *testing.T) {
	v, err := identity.ParseBanValue(identity.KindNet, "::ffff:0.0.0.0/96")
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0/0", v)
	s := start(t, t.TempDir(), &recorder{})
	_, err = s.AddBan(t.Context(), identity.KindNet, "::ffff:0.0.0.0/96", "", 0)
	require.NoError(t, err)
	assert.True(t, s.AddrBanned("203.0.113.9"))
}

// A ban's length is positive or none (until lifted): "0s" and a
// negative one are refused, never taken as until lifted.
func TestBanLengthZeroOrNegativeIsRefused(t *testing.T) {
	_, err := identity.ParseBanDuration("0s")
	assert.ErrorIs(t, err, identity.ErrBadBan)
	s := start(t, t.TempDir(), &recorder{})
	_, err = s.AddBan(t.Context(), identity.KindCID, "a", "", -time.Nanosecond)
	assert.ErrorIs(t, err, identity.ErrBadBan)
}

// A session admitted by its own credential is left alone by a recheck
// while the credential is there.
func TestRecheckKeepsAnEnrolledSession(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{})
	secret, _, err := s.Enroll(t.Context(), "dev-1", 0)
	require.NoError(t, err)
	assert.Equal(t, protocol.ReasonNone, s.Recheck("dev-1", digest(secret), false))
	require.NoError(t, s.DeleteCredential(t.Context(), "dev-1"))
	assert.Equal(t, protocol.ReasonRevoked, s.Recheck("dev-1", digest(secret), false))
}

// A ban key is read back only in the form the API gives out: a network
// not in its canonical form is no key of a ban.
func TestBanKeyOnlyInItsCanonicalForm(t *testing.T) {
	k, ok := identity.ParseBanKey("net/10.1.0.0/16")
	require.True(t, ok)
	assert.Equal(t, identity.BanKey{Kind: identity.KindNet, Value: "10.1.0.0/16"}, k)
	for _, bad := range []string{"net/10.1.2.3/16", "ip/::ffff:10.0.0.1", "cid", "host/x"} {
		_, ok := identity.ParseBanKey(bad)
		assert.False(t, ok, bad)
	}
}
