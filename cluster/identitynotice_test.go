package cluster

import (
	"bytes"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/identity"
)

// One key's changes reach a node by notice and by watch in any order; each
// is applied once, and none after a newer one of its key.
func TestOrderAppliesEachChangeOnceAndNeverGoesBack(t *testing.T) {
	put := func(key string, rev uint64) *change { return &change{key: key, rev: rev, op: jetstream.KeyValuePut} }
	del := func(key string, rev uint64) *change { return &change{key: key, rev: rev, op: jetstream.KeyValueDelete} }
	type step struct {
		watch   bool // from the watch, else a notice
		bucket  string
		c       *change
		applied bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"notice first, then its watch", []step{
			{false, BansBucket, put("cid.a", 5), true},
			{true, BansBucket, put("cid.a", 5), false},
		}},
		{"watch first, then its notice", []step{
			{true, BansBucket, put("cid.a", 5), true},
			{false, BansBucket, put("cid.a", 5), false},
		}},
		{"a lagging watch's older put after a noticed delete", []step{
			{false, BansBucket, del("cid.a", 7), true},
			{true, BansBucket, put("cid.a", 5), false},
			{true, BansBucket, del("cid.a", 7), false},
			{true, BansBucket, put("cid.a", 9), true},
		}},
		{"an older notice after a newer one, and the same one again", []step{
			{false, CredentialsBucket, del("d", 8), true},
			{false, CredentialsBucket, put("d", 6), false},
			{false, CredentialsBucket, del("d", 8), false}, // a write's own applyOwn, then its notice
		}},
		{"a notice the watch has passed", []step{
			{true, BansBucket, put("cid.b", 10), true},
			{false, BansBucket, put("cid.a", 9), false},
		}},
		{"other keys and the other bucket are not held back", []step{
			{false, BansBucket, del("cid.a", 7), true},
			{true, BansBucket, put("cid.b", 6), true},
			{true, CredentialsBucket, put("cid.a", 3), true},
			{false, CredentialsBucket, put("cid.a", 4), true},
		}},
		{"a change caught up, then brought by a watch made again", []step{
			{true, BansBucket, put("cid.a", 5), true},
			{true, BansBucket, del("cid.b", 6), true},
			{true, BansBucket, put("cid.a", 5), false},
			{true, BansBucket, del("cid.b", 6), false},
		}},
		{"the other bucket's watch does not let a noticed key go", []step{
			{false, BansBucket, del("cid.a", 7), true},
			{true, CredentialsBucket, put("cid.a", 8), true},
			{true, BansBucket, put("cid.a", 5), false},
		}},
		{"a noticed key is let go once the watch passes it", []step{
			{false, BansBucket, put("cid.a", 7), true},
			{true, BansBucket, put("cid.b", 8), true},
			{false, BansBucket, put("cid.a", 7), false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o order
			for i, s := range tc.steps {
				applied := false
				apply := func() { applied = true }
				if s.watch {
					o.fromWatch(s.bucket, s.c, apply)
				} else {
					o.fromNotice(s.bucket, s.c, apply)
				}
				assert.Equal(t, s.applied, applied, "step %d", i)
			}
			for k, rev := range o.ahead {
				bucket := BansBucket
				if len(k) > len(CredentialsBucket) && k[:len(CredentialsBucket)] == CredentialsBucket {
					bucket = CredentialsBucket
				}
				assert.Greater(t, rev, *o.watched.of(bucket), "%s kept ahead though the watch passed it", k)
			}
		})
	}
}

// Once Watch has returned nothing more is applied: its caller reads the
// store afresh.
func TestOrderAppliesNothingAfterItsEnd(t *testing.T) {
	var o order
	o.end()
	applied := 0
	o.fromNotice(BansBucket, &change{key: "cid.a", rev: 1, op: jetstream.KeyValuePut}, func() { applied++ })
	o.fromWatch(BansBucket, &change{key: "cid.a", rev: 2, op: jetstream.KeyValuePut}, func() { applied++ })
	assert.Zero(t, applied)
}

// FuzzNotice: a notice is read as the change its node announced, its
// bucket, key, revision, operation and value; any other message is read
// as a change that announces the same way, or refused as not ours.
// Seeded with the keys of the bans' and credentials' golden cases.
func FuzzNotice(f *testing.F) {
	for i, v := range banKeyValues {
		k := banKey(identity.BanKey{Kind: identity.KindIP, Value: v})
		f.Add(noticesOf(DefaultSubjectPrefix)+BansBucket+"."+k, "7", BansBucket, k, uint64(i+1), uint8(i), []byte(`{"v":1}`))
		k = keyOf(v)
		f.Add(noticesOf(DefaultSubjectPrefix)+CredentialsBucket+"."+k, "18446744073709551615", CredentialsBucket, k, ^uint64(0), uint8(i), []byte(nil))
	}
	for _, s := range []string{"cliser.identity.cliser_bans", "cliser.identity.other.k", "cliser.identity..k", "other.identity.cliser_bans.k", ""} {
		f.Add(s, "1", BansBucket, "cid.nt-a", uint64(0), uint8(1), []byte{})
	}
	f.Add("cliser.identity.cliser_bans.k", "-1", "", "", uint64(1), uint8(2), []byte("x"))
	f.Add("cliser.identity.cliser_bans.k", "", "", "", uint64(1), uint8(2), []byte("x"))
	ops := []string{"", "DEL", "PURGE"}
	f.Fuzz(func(t *testing.T, subject, rev, bucket, key string, n uint64, op uint8, val []byte) {
		m := nats.NewMsg(subject)
		m.Header.Set(hdrNoticeRev, rev)
		m.Header.Set(hdrKVOperation, bucket) // any text, as another sender's
		m.Data = val
		if b, c, ok := readNotice(DefaultSubjectPrefix, m); ok {
			if _, known := entryKinds[b]; !known {
				t.Fatalf("%q: read as bucket %q", subject, b)
			}
			checkNotice(t, b, c.key, c.rev, opName(c), c.value)
			if again := noticeMsg(DefaultSubjectPrefix, b, c.key, c.rev, "", nil); again.Subject != subject {
				t.Fatalf("%q read as %q's key %q, announced on %q", subject, b, c.key, again.Subject)
			}
		}
		if _, known := entryKinds[bucket]; known {
			checkNotice(t, bucket, key, n, ops[int(op)%len(ops)], val)
		}
	})
}

// checkNotice: the notice of this change is read as it.
func checkNotice(t *testing.T, bucket, key string, rev uint64, op string, val []byte) {
	t.Helper()
	m := noticeMsg(DefaultSubjectPrefix, bucket, key, rev, op, val)
	b, c, ok := readNotice(DefaultSubjectPrefix, m)
	if !ok || b != bucket || c.key != key || c.rev != rev || opName(c) != op || (op == "" && !bytes.Equal(c.value, val)) {
		t.Fatalf("%s %q rev %d op %q: read as %q %+v, %v", bucket, key, rev, op, b, c, ok)
	}
}

// opName is the KV-Operation header of c's operation ("" for a put).
func opName(c *change) string {
	switch c.op {
	case jetstream.KeyValueDelete:
		return "DEL"
	case jetstream.KeyValuePurge:
		return "PURGE"
	}
	return ""
}
