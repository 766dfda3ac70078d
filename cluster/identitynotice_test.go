package cluster

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
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
		{"an older notice after a newer one", []step{
			{false, CredentialsBucket, del("d", 8), true},
			{false, CredentialsBucket, put("d", 6), false},
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
