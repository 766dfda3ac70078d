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

// QueuedWrites is how many writes wait in the queue for the writer: for
// tests that must know a write is queued before the one ahead of it ends.
func (s *Service) QueuedWrites() int {
	s.wq.mu.Lock()
	defer s.wq.mu.Unlock()
	return len(s.wq.ops)
}
