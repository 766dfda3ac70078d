package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/identity"
)

// hdrExpiry marks a delete marker an expiry placed: the node that placed
// it and the ban's start, so that a node whose delete landed though its
// answer was lost (a publish that timed out without a quorum and was
// stored when the quorum came back) can tell it was its own.
const hdrExpiry = "Cliser-Expiry"

// expireTries bounds the reads and deletes of one ExpireBan: a delete
// refused for a changed key is read again, and then settles (deleted, or
// another ban), unless the key keeps changing.
const expireTries = 3

// ExpireBan deletes ban b, which has ended on every node, only while the
// bucket still holds b itself at its key: it reads the key's last change
// from the stream's leader (leaderRead) and places the delete marker with
// that revision as the stream's expected last one for the key, so that
// of the nodes whose sweeps found b ended together one delete lands, and
// a ban made again of the key in the meantime is not deleted. won is
// whether this node's delete landed.
func (s *IdentityStore) ExpireBan(ctx context.Context, b identity.Ban) (won bool, err error) {
	key, mark := banKey(b.Key()), s.expiryMark(b)
	if err := s.connected(ctx); err != nil {
		return false, err
	}
	for range expireTries {
		m, err := leaderLast(ctx, s.nc, BansBucket, key)
		if err != nil {
			return false, fmt.Errorf("cluster: expire ban %s %s: %w", b.Kind, b.Value, err)
		}
		if m == nil {
			s.settle(key)
			return false, nil
		}
		c := changeOf(key, m.Sequence, m.Header, m.Data)
		if c.op != jetstream.KeyValuePut {
			// Deleted: by another node, an operator, or this node's own
			// earlier try whose answer was lost.
			return s.settle(key) == mark && m.Header.Get(hdrExpiry) == mark, nil
		}
		if held, err := identity.DecodeBan(c.value); err != nil || !held.Same(b) {
			s.settle(key)
			return false, nil // made again (or not one this build reads): not b's to delete
		}
		rev, err := deleteAt(ctx, s.js, BansBucket, key, m.Sequence, hdrExpiry, mark)
		if wrongLast(err) {
			continue // changed since the read: read it again
		}
		if err != nil {
			s.unanswered(key, mark) // it may still land: the next try looks for it
			return false, fmt.Errorf("cluster: expire ban %s %s: %w", b.Kind, b.Value, err)
		}
		s.settle(key)
		s.announce(BansBucket, key, rev, "DEL", nil)
		return true, nil
	}
	return false, fmt.Errorf("cluster: expire ban %s %s: the key changed %d times while it was read", b.Kind, b.Value, expireTries)
}

// expiryMark is what this node's delete of ban b carries in hdrExpiry:
// the node and b's start (a ban made again of the key starts later).
func (s *IdentityStore) expiryMark(b identity.Ban) string {
	return s.node + " " + strconv.FormatInt(b.At.UnixNano(), 10)
}

// unanswered remembers that this node's expiry delete of key, marked
// mark, was sent and not answered.
func (s *IdentityStore) unanswered(key, mark string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsure == nil {
		s.unsure = map[string]string{}
	}
	s.unsure[key] = mark
}

// settle forgets key's unanswered expiry delete and returns its mark
// ("" when there was none).
func (s *IdentityStore) settle(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	mark := s.unsure[key]
	delete(s.unsure, key)
	return mark
}

// wrongLast reports whether err is the stream refusing a write whose
// expected last revision of its key was not the key's last (10164 on a
// replicated stream, 10071 on one replica).
func wrongLast(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
