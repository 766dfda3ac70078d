package cluster

import (
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
)

// Notices: the fast path of an identity change. A watch's consumer is
// placed by JetStream's meta group, so while that group elects a leader
// (its server killed: 4-9 s) no watch lost with a server can be made
// again, and a ban or a revocation reached such a node 4-7 s after its
// answer, against IDENTITY.md's 2 s. The node that stored a change now
// also publishes it on core NATS, which needs no leader of any kind;
// every node applies it at once. The watches, with the catching up beside
// them (identitycatchup.go), stay the path that misses nothing (a notice
// is fire-and-forget); each change carries its revision, so no path can
// move a key back past another.

// hdrNoticeRev is a notice's header: the change's revision in its bucket.
const hdrNoticeRev = "Cliser-Revision"

// noticesOf is the subject prefix of the notices under prefix: the
// bucket, then the key, follow.
func noticesOf(prefix string) string { return prefix + ".identity." }

// noticeMsg is the notice of the change of bucket's key at rev (op "" for
// a put, with its value).
func noticeMsg(prefix, bucket, key string, rev uint64, op string, val []byte) *nats.Msg {
	m := nats.NewMsg(noticesOf(prefix) + bucket + "." + key)
	m.Header.Set(hdrNoticeRev, strconv.FormatUint(rev, 10))
	if op != "" {
		m.Header.Set(hdrKVOperation, op)
	}
	m.Data = val
	return m
}

// readNotice reverses noticeMsg; ok is false for a message no node sends
// (another bucket, no revision).
func readNotice(prefix string, m *nats.Msg) (bucket string, c *change, ok bool) {
	rest, ok := strings.CutPrefix(m.Subject, noticesOf(prefix))
	bucket, key, cut := strings.Cut(rest, ".")
	rev, err := strconv.ParseUint(m.Header.Get(hdrNoticeRev), 10, 64)
	if _, known := entryKinds[bucket]; !ok || !cut || err != nil || !known {
		return "", nil, false
	}
	return bucket, changeOf(key, rev, m.Header, m.Data), true
}

// announce publishes the change the store has just made (op "" for a put,
// with its value). A notice that cannot be sent is counted and left to the
// watches.
func (s *IdentityStore) announce(bucket, key string, rev uint64, op string, val []byte) {
	m := noticeMsg(s.prefix, bucket, key, rev, op, val)
	if err := s.nc.PublishMsg(m); err != nil {
		s.notices.WithLabelValues(noticeUnsent).Inc()
		s.log.Debug("cluster: identity change not announced; the watches carry it", zap.String("bucket", bucket), zap.Error(err))
	}
}

// order is what Watch has applied, shared by the watches and the notices
// under its lock so that one change never undoes a newer one.
type order struct {
	mu      sync.Mutex
	watched identityRevs      // the last revision each bucket's watch delivered
	ahead   map[string]uint64 // bucket + "." + key: the revision a notice applied past watched
	ended   bool              // Watch returned: its caller reads the store afresh, nothing more is applied
}

// end applies nothing more once it returns: a notice or a look still
// under way when Watch returns must not land after its caller's Load.
func (o *order) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended = true
}

// fromWatch applies a watched (or caught-up) change of bucket unless a
// notice applied it, or a newer one of its key, first.
func (o *order) fromWatch(bucket string, c *change, apply func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := o.watched.of(bucket)
	if o.ended || c.rev <= *w {
		return // brought already: caught up by direct gets, then by a watch made again
	}
	*w = c.rev
	k := bucket + "." + c.key
	if rev, ok := o.ahead[k]; !ok || rev < c.rev {
		apply()
	}
	for k, rev := range o.ahead {
		if rev <= c.rev && strings.HasPrefix(k, bucket+".") {
			delete(o.ahead, k)
		}
	}
}

// fromNotice applies an announced change unless the watch or an earlier
// notice already brought it or a newer one of its key. It reports whether
// it applied it.
func (o *order) fromNotice(bucket string, c *change, apply func()) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := bucket + "." + c.key
	if o.ended || c.rev <= *o.watched.of(bucket) || o.ahead[k] >= c.rev {
		return false
	}
	apply()
	if o.ahead == nil {
		o.ahead = map[string]uint64{}
	}
	o.ahead[k] = c.rev
	return true
}

// watchedOf is the last revision of bucket the watch brought.
func (o *order) watchedOf(bucket string) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return *o.watched.of(bucket)
}

// of is the field of bucket.
func (r *identityRevs) of(bucket string) *uint64 {
	if bucket == CredentialsBucket {
		return &r.creds
	}
	return &r.bans
}

// hear subscribes to the notices of both buckets, applying each through
// o, until the returned subscription is unsubscribed.
func (s *IdentityStore) hear(o *order, apply func(identity.Change)) (*nats.Subscription, error) {
	return s.nc.Subscribe(noticesOf(s.prefix)+">", func(m *nats.Msg) {
		bucket, c, ok := readNotice(s.prefix, m)
		if !ok {
			s.notices.WithLabelValues(noticeBad).Inc()
			return
		}
		kind := entryKinds[bucket]
		if o.fromNotice(bucket, c, func() { kind(s.log, c, apply) }) {
			s.notices.WithLabelValues(noticeApplied).Inc()
		}
	})
}
