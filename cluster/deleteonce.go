package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/identity"
)

// hdrDeletedBy marks an operator's delete marker with the node and the
// delete it was (deleteOnce), as hdrExpiry marks an expiry's.
const hdrDeletedBy = "Cliser-Deleted-By"

// deleteSeq numbers this process's operator deletes for their marks,
// after deleteRun, which tells this process from the node's earlier runs.
var (
	deleteSeq atomic.Uint64
	deleteRun = strconv.FormatInt(time.Now().UnixNano(), 36)
)

// deleteOnce deletes key of bucket while it holds a value, as the one
// node of the cluster whose delete lands: it reads the key's last change
// from the stream's leader and places the marker with that revision as
// the key's expected last one. Of two operators deleting one key through
// two nodes at once, one gets the delete and the other identity's
// ErrNotFound (404, and no event), as on one node; before, both answered
// 204 and both logged a delete. A delete that landed though its answer was
// lost (a publish timed out without a quorum, stored when it came back)
// is known for this one's by its mark at the next read.
func (s *IdentityStore) deleteOnce(ctx context.Context, bucket, key string) (uint64, error) {
	mark := s.node + " " + deleteRun + "." + strconv.FormatUint(deleteSeq.Add(1), 10)
	var last error
	for range expireTries {
		m, err := leaderLast(ctx, s.nc, bucket, key)
		if err != nil {
			return 0, err
		}
		if m == nil {
			return 0, identity.ErrNotFound
		}
		if c := changeOf(key, m.Sequence, m.Header, m.Data); c.op != jetstream.KeyValuePut {
			if m.Header.Get(hdrDeletedBy) == mark {
				return m.Sequence, nil
			}
			return 0, identity.ErrNotFound
		}
		rev, err := deleteAt(ctx, s.js, bucket, key, m.Sequence, hdrDeletedBy, mark)
		switch {
		case err == nil:
			return rev, nil
		case wrongLast(err):
			continue // changed since the read: read it again
		case ctx.Err() != nil:
			return 0, err
		}
		last = err // it may have landed: the next read says
	}
	if last == nil {
		last = fmt.Errorf("the key changed %d times while it was read", expireTries)
	}
	return 0, last
}

// deleteAt places key's delete marker in bucket, with header set to
// mark, only while key's last change is revision last, and returns the
// marker's revision (which jetstream's Delete does not hand back and a
// notice must carry).
func deleteAt(ctx context.Context, js jetstream.JetStream, bucket, key string, last uint64, header, mark string) (uint64, error) {
	m := nats.NewMsg("$KV." + bucket + "." + key)
	m.Header.Set(hdrKVOperation, "DEL")
	m.Header.Set(header, mark)
	ack, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(last))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}
