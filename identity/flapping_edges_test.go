package identity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Exactly a window apart is within it (TestFlappingWindowSlides), for a
// client whose last registration is a window old, and after a prune at
// that moment, which keeps what it would count.
func TestFlappingWindowEdgeHoldsAcrossThePrune(t *testing.T) {
	const w = 2 * time.Second
	s := New(WithFlapping(2, w, time.Minute))
	t0 := time.Now()
	assert.Equal(t, []int{1}, registerAt(s, "pair", t0, 0, w), "limit 2, a window apart")

	for _, c := range []struct {
		limit  int
		before []time.Duration
	}{
		{2, []time.Duration{0}},                    // the count's last
		{3, []time.Duration{0, time.Second}},       // its prev
		{4, []time.Duration{0, ms(500), ms(1000)}}, // one kept aside
	} {
		s := New(WithFlapping(c.limit, w, time.Minute))
		assert.Empty(t, registerAt(s, "edge", t0, c.before...))
		s.pruneFlaps(t0.Add(w))
		assert.Equal(t, []int{0}, registerAt(s, "edge", t0, w), "limit %d: pruned a registration still in the window", c.limit)
	}
}

// Another node's registrations that reach the limit are kept: the next
// one of this node bans (IDENTITY.md counts every registration).
func TestRemoteRegistrationsReachingTheLimitAreKept(t *testing.T) {
	s := New(WithFlapping(3, time.Minute, time.Minute))
	now := time.Now()
	for range 3 {
		s.CountRemoteRegistration("remote", now)
	}
	assert.Zero(t, s.FlappingBans())
	assert.Equal(t, []int{0}, registerAt(s, "remote", now, 0))
}
