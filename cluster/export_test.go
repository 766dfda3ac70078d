package cluster

import (
	"context"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/registry"
)

// For the external tests that read or write the bucket as another node
// (or another version) would.

// ParseSlotKey is parseSlotKey.
func ParseSlotKey(key string) (node string, slot uint16, err error) { return parseSlotKey(key) }

// SlotKey is slotKey.
func SlotKey(node string, slot uint16) string { return slotKey(node, slot) }

// DecodeSlot is a slot value's records and their registration revisions.
func DecodeSlot(b []byte, node string) ([]registry.Record, []uint64, error) {
	v, err := decodeSlot(b, node)
	if err != nil {
		return nil, nil, err
	}
	recs, revs := make([]registry.Record, len(v.Records)), make([]uint64, len(v.Records))
	for i, r := range v.Records {
		recs[i], revs[i] = r.Rec, r.RegRev
	}
	return recs, revs, nil
}

// EncodeSlot is a slot value of recs registered at revs.
func EncodeSlot(recs []registry.Record, revs []uint64) ([]byte, error) {
	v := slotValue{Records: make([]slotRecord, len(recs))}
	for i := range recs {
		v.Records[i] = slotRecord{Rec: recs[i], RegRev: revs[i]}
	}
	return encodeSlot(nil, v)
}

// WithBeforeSlotWrite has f called before each slot write of the node's
// flushes, with the count of slot writes before it: a test's hook to cut
// or crash the node between two of them.
func WithBeforeSlotWrite(f func(k int)) Option { return func(o *options) { o.beforeSlotWrite = f } }

// WithoutBatchGet has the node read slots one by one, as it does on a
// NATS server before 2.11 (no batched direct get).
func WithoutBatchGet() Option { return func(o *options) { o.noBatchGet = true } }

// WithBeforeBeat has f called before each beat of the node's heartbeat
// loop (not the first, Start's): a test's hook to stop NATS while a beat
// is in flight.
func WithBeforeBeat(f func()) Option { return func(o *options) { o.beforeBeat = f } }

// WithBeforeCheck has f called before each lost-node check: a test's hook
// to keep the node idle while NATS goes away and comes back.
func WithBeforeCheck(f func()) Option { return func(o *options) { o.beforeCheck = f } }

// HdrNoticeRev is the notices' revision header, for tests that forge one.
const HdrNoticeRev = hdrNoticeRev

// Beating reports whether node id beats as the lost-node check reads it
// (leaderBeat), for the test that reads a heartbeat beside a stale
// replica.
func (n *Node) Beating(ctx context.Context, id string) (bool, error) {
	rev, err := n.leaderBeat(ctx, id)
	return rev > 0, err
}

// HdrExpiry is the header that marks an expiry's delete.
const HdrExpiry = hdrExpiry

// ExpireWithoutAnswer is ExpireBan's delete of b with its answer lost:
// the delete lands (b must be what the bucket holds) and s is left not
// knowing it, as after a publish that timed out and was stored after all.
func (s *IdentityStore) ExpireWithoutAnswer(ctx context.Context, b identity.Ban) error {
	key, mark := banKey(b.Key()), s.expiryMark(b)
	m, err := leaderLast(ctx, s.nc, BansBucket, key)
	if err != nil {
		return err
	}
	if _, err := deleteAt(ctx, s.js, BansBucket, key, m.Sequence, hdrExpiry, mark); err != nil {
		return err
	}
	s.unanswered(key, mark)
	return nil
}

// BeatUnanswered writes a heartbeat as a beat does and drops its answer:
// a beat that Close cancelled in flight after it landed.
func (n *Node) BeatUnanswered(ctx context.Context) error {
	_, err := n.putBeat(ctx, false)
	return err
}

// HeldByOthers is heldByOthers with this node alone alive: the nodes
// whose heartbeats and slots the lost-node check would read, were the
// others all gone.
func (n *Node) HeldByOthers() []string { return n.heldByOthers(map[string]bool{n.id: true}) }

// RequestKick sends node a kick of cid over NATS, as route does once it
// has seen the connection up.
func (n *Node) RequestKick(node, cid string) error {
	_, err := n.request(context.Background(), node, command{Op: "kick", CID: cid})
	return err
}
