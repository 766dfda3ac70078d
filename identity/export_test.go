package identity

import "time"

// WithExpiryRetry sets the waits before an expiry's failed delete is
// tried again (1 s doubling to 30 s otherwise), for tests that fail it.
func WithExpiryRetry(first, most time.Duration) Option {
	return func(o *options) { o.retryMin, o.retryMax = first, most }
}

// CountRegistration counts an admitted registration of cid at now, as
// Admit does after its check: for tests of what happens between the two.
func (s *Service) CountRegistration(cid string, now time.Time) { s.countRegistration(cid, now) }
