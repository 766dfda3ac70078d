package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/identity"
)

// The identity buckets made anew under a running node (NATS restarted
// without its store; bucketgone.go makes them again): their revisions
// count from 1 again, and a watch that resumes after the last revision
// it applied skipped every change up to it, so nodes held different
// credentials and bans with every probe green (cluster audit). The
// watch looks every renewCheck whether a bucket's stream is another than
// the one Load read, and ends with identity.ErrStoreRenewed: the service
// then loads the new buckets whole (identity/watch.go).

// renewCheck is how often a watch looks at its buckets' streams: two
// JetStream API requests a look.
const renewCheck = 5 * time.Second

// streamsMade reads each identity bucket's stream's creation time.
func (s *IdentityStore) streamsMade(ctx context.Context) (map[string]time.Time, error) {
	made := make(map[string]time.Time, 2)
	for _, b := range []string{CredentialsBucket, BansBucket} {
		at, err := s.streamMade(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", b, err)
		}
		made[b] = at
	}
	return made, nil
}

// streamMade is when bucket's stream was made, as JetStream answers now.
func (s *IdentityStore) streamMade(ctx context.Context, bucket string) (time.Time, error) {
	st, err := s.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return time.Time{}, err
	}
	return st.CachedInfo().Created, nil
}

// renewed is an error wrapping identity.ErrStoreRenewed when a bucket's
// stream is gone or another than the last Load read; nil otherwise, and
// when NATS does not answer (nothing is known).
func (s *IdentityStore) renewed(ctx context.Context) error {
	s.mu.Lock()
	was := s.made
	s.mu.Unlock()
	for _, b := range []string{CredentialsBucket, BansBucket} {
		at, err := s.streamMade(ctx, b)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("%w: bucket %s is gone from NATS", identity.ErrStoreRenewed, b)
		case err != nil:
			return nil
		case !was[b].IsZero() && !at.Equal(was[b]):
			return fmt.Errorf("%w: bucket %s was made again at %s", identity.ErrStoreRenewed, b, at.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
