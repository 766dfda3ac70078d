package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/identity"
)

// Catching up: the path for a change neither a watch nor a notice brought.
// A notice is fire-and-forget (a node between two servers when it is sent
// misses it), and a watch whose consumer was lost stays silent until one
// can be made again, which JetStream's meta group must do. A direct get
// needs neither: every replica of the bucket's stream answers it. So each
// node looks, every catchUpEvery, at the first change after the revision
// its watch brought; when the same one is still not brought a look later,
// the watch is not delivering, and the node reads on to the end by direct
// gets, applying each change as the watch would have.

// catchUpEvery paces the looks: a missed change is applied within two of
// them (IDENTITY.md gives a ban 2 s across a cluster). Idle, it is one
// small request a bucket each time, answered "no message".
const catchUpEvery = 250 * time.Millisecond

// catchUpBatch bounds the changes one look applies: a backlog that large
// is a watch's job, and it is made again meanwhile.
const catchUpBatch = 1024

// catchUp looks for missed changes of both buckets until ctx ends.
func (s *IdentityStore) catchUp(ctx context.Context, o *order, apply func(identity.Change)) {
	tick := time.NewTicker(catchUpEvery)
	defer tick.Stop()
	seen := map[string]uint64{} // by bucket: the first unbrought change at the last look
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for bucket, st := range s.streams {
			seen[bucket] = s.lookOnce(ctx, o, bucket, st, seen[bucket], apply)
		}
	}
}

// lookOnce reads the first change of bucket after the revision o watched
// and returns it (0: none), unless it is the one seen at the last look:
// then the watch is not delivering, and it applies that change and those
// after it, up to catchUpBatch, as the watch would have.
func (s *IdentityStore) lookOnce(ctx context.Context, o *order, bucket string, st jetstream.Stream, seen uint64, apply func(identity.Change)) uint64 {
	c, err := s.nextAfter(ctx, st, bucket, o.watchedOf(bucket))
	if err != nil || c == nil {
		return 0
	}
	if c.rev != seen {
		return c.rev // first seen: the watch may bring it yet
	}
	kind := entryKinds[bucket]
	for range catchUpBatch {
		o.fromWatch(bucket, c, func() { kind(s.log, c, apply) })
		s.caughtUp.Inc()
		if c, err = s.nextAfter(ctx, st, bucket, c.rev); err != nil || c == nil {
			break
		}
	}
	return 0
}

// nextAfter is bucket's first change after rev by a direct get; nil when
// there is none (on the replica that answered).
func (s *IdentityStore) nextAfter(ctx context.Context, st jetstream.Stream, bucket string, rev uint64) (*change, error) {
	ctx, cancel := context.WithTimeout(ctx, catchUpEvery)
	defer cancel()
	prefix := "$KV." + bucket + "."
	m, err := st.GetMsg(ctx, rev+1, jetstream.WithGetMsgSubject(prefix+">"))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return changeOf(strings.TrimPrefix(m.Subject, prefix), m.Sequence, m.Header, m.Data), nil
}
