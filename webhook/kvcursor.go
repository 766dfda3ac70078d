package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/internal/natsretry"
)

// CursorBucket is the cluster's KV bucket of webhook cursors. It has no
// TTL: a cursor must outlive every node.
const CursorBucket = "cliser_webhook"

// KVCursor is the Cursor of a cluster: a key in a JetStream KV bucket,
// shared by every node, so the node that takes delivery over resumes where
// the lost one was acknowledged.
type KVCursor struct {
	kv  jetstream.KeyValue
	key string
	old string // the key builds before this one used (oldCursorKey)
}

var _ Cursor = (*KVCursor)(nil)

// NewKVCursor creates or binds the cursor bucket (replicas as the
// cluster's other buckets) and returns the cursor of the webhook at url.
func NewKVCursor(ctx context.Context, js jetstream.JetStream, url string, replicas int) (*KVCursor, error) {
	kv, err := natsretry.CreateOrUpdateKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      CursorBucket,
		Description: "cliser: how far each webhook's receiver acknowledged the event log",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook cursor: bucket %s: %w", CursorBucket, err)
	}
	return &KVCursor{kv: kv, key: cursorKey(url), old: oldCursorKey(url)}, nil
}

// Load implements Cursor. A cursor found only under the key older builds
// used is this one's: the next Save stores it under the new key.
func (c *KVCursor) Load(ctx context.Context) (State, bool, error) {
	e, err := c.kv.Get(ctx, c.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) && c.old != c.key {
		e, err = c.kv.Get(ctx, c.old)
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("webhook cursor: %w", err)
	}
	st, err := decodeState(e.Value())
	return st, err == nil, err
}

// Save implements Cursor: the put is acknowledged by the stream (and its
// replicas) before it returns.
func (c *KVCursor) Save(ctx context.Context, st State) error {
	val, err := encodeState(st)
	if err != nil {
		return err
	}
	if _, err := c.kv.Put(ctx, c.key, val); err != nil {
		return fmt.Errorf("webhook cursor: %w", err)
	}
	return nil
}

// Create implements starter: nodes that start together with a new
// webhook each fix its start, and the first write stands.
func (c *KVCursor) Create(ctx context.Context, st State) (State, bool, error) {
	val, err := encodeState(st)
	if err != nil {
		return State{}, false, err
	}
	_, err = c.kv.Create(ctx, c.key, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		st, _, err = c.Load(ctx)
		return st, false, err
	}
	if err != nil {
		return State{}, false, fmt.Errorf("webhook cursor: %w", err)
	}
	return st, true, nil
}
