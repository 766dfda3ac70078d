package client

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// Each 190 reason docs/agent.md lists under "Long waits" gets the long
// wait, "replaced" its own, every other the ordinary backoff. A mutation
// audit found "too many attempts", "bad id" and "revoked" each removable
// from the long list with every test passing (the ordinary wait would
// retry them within backoff-min).
func TestBackoffKindOfEveryReason(t *testing.T) {
	long := map[protocol.Reason]bool{protocol.ReasonAuthFailed: true, protocol.ReasonTooManyAttempts: true,
		protocol.ReasonBadID: true, protocol.ReasonBanned: true, protocol.ReasonRevoked: true}
	for r := protocol.ReasonNone; r <= protocol.ReasonNodeLost; r++ {
		want := backoffNormal
		switch {
		case long[r]:
			want = backoffLong
		case r == protocol.ReasonReplaced:
			want = backoffReplaced
		}
		assert.Equal(t, want, backoffKindOf(r), "190 %s", r)
	}
}

// A replaced wait is uniform in [d/2, d], d = min(Max, Min*Factor^k) for
// the k-th replacement in a row, and at least Min whatever the factor;
// a factor of 1 (constant waits) is kept, not taken for unset. A mutation
// audit found the k off by one upwards, the floor at Min and the keeping
// of factor 1 each changeable with every test passing.
func TestBackoffReplacedWaitsStayInTheirBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}.withDefaults()
	for n := range 8 {
		d := min(b.Max, b.Min<<(n+1))
		for range 200 {
			r := b.delay(backoffReplaced, n)
			require.GreaterOrEqual(t, r, d/2, "replacement %d in a row", n+1)
			require.LessOrEqual(t, r, d, "replacement %d in a row", n+1)
		}
	}

	assert.EqualValues(t, 1, Backoff{Factor: 1}.withDefaults().Factor, "a factor of 1 is a constant wait, not unset")
	slow := Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, Factor: 1.5}.withDefaults()
	for range 200 {
		require.GreaterOrEqual(t, slow.delay(backoffReplaced, 0), slow.Min, "Min*1.5/2 is under Min: the wait is still Min")
	}
}

// Min and Max both the largest duration: the ordinary ceiling is Max, not
// float64(MaxInt64) converted back (an overflow, a negative ceiling and a
// wait of 0). A mutation audit found the >= at Max changeable to > with
// every test passing.
func TestBackoffCeilingAtMinEqualToTheLargestMax(t *testing.T) {
	b := Backoff{Min: math.MaxInt64, Max: math.MaxInt64}.withDefaults()
	assert.Equal(t, b.Max, b.ceiling(0))
	assert.GreaterOrEqual(t, b.delay(backoffNormal, 0), time.Duration(0))
}

// A client with a certificate names its CN beside the password on "auth
// failed" (docs/agent.md: a --require-cert-cn server refuses a CN that is
// not the ID, "whose line then names the certificate's CN beside the
// password"), and a password of unknown source is "the password", not
// "the password in ". A mutation audit found both changeable with every
// test passing.
func TestRejectionAuthFailedNamesTheCertificateAndAnUnknownSource(t *testing.T) {
	line := rejection(protocol.ReasonAuthFailed, "CLISER_PASSWORD", false, true, time.Minute)
	assert.Contains(t, line, "refused the password or the client certificate (190 auth failed): check the password in CLISER_PASSWORD,")
	assert.Contains(t, line, "that the client certificate's CN is this ID (a server with --require-cert-cn)")
	assert.NotContains(t, rejection(protocol.ReasonAuthFailed, "", false, false, time.Minute), "CN")

	assert.Contains(t, rejection(protocol.ReasonAuthFailed, "", false, false, time.Minute), "check the password, or this ID's own secret")
	revoked := rejection(protocol.ReasonRevoked, "", true, false, time.Minute)
	assert.Contains(t, revoked, "(190 revoked): give the client its new one, or")
}

// The ordinary wait is full jitter, uniform in [0, ceiling] (docs/agent.md:
// it spreads a fleet that lost its server at once), not only in its upper
// half: of 200 draws some fall in the lowest quarter (all missing it has a
// chance of 0.75^200, about 1e-25). A mutation audit found "equal jitter"
// ([ceiling/2, ceiling]) passing every test.
func TestBackoffOrdinaryWaitIsFullJitter(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Minute}.withDefaults()
	ceiling := b.ceiling(3)
	low := 0
	for range 200 {
		if b.delay(backoffNormal, 3) < ceiling/4 {
			low++
		}
	}
	assert.Positive(t, low, "no wait in [0, %v)", ceiling/4)
}
