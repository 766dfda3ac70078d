package cluster

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
)

// leaderRead is key's last change in bucket as the bucket's stream leader
// holds it, nil when the key never had one: a message get, which only the
// leader answers. A direct get (what the key-value Get sends) is answered
// by any replica, and one still catching up answers from the past: a NATS
// server restarted after a heartbeat had aged out there said a live
// node's key was gone, and a node marked that node's clients "node lost"
// (a CI run of TestNodesKeepTheirClientsWhenTheHeartbeatsLeaderIsKilled).
// For the reads a decision rests on; without a leader it fails.
func leaderRead(ctx context.Context, nc *nats.Conn, bucket, key string) (*change, error) {
	m, err := leaderLast(ctx, nc, bucket, key)
	if m == nil || err != nil {
		return nil, err
	}
	return changeOf(key, m.Sequence, m.Header, m.Data), nil
}

// leaderLast is leaderRead's message as the leader holds it, headers and
// all; nil when the key never had one.
func leaderLast(ctx context.Context, nc *nats.Conn, bucket, key string) (*nats.RawStreamMsg, error) {
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		return nil, err
	}
	m, err := js.GetLastMsg("KV_"+bucket, "$KV."+bucket+"."+key, nats.Context(ctx))
	if errors.Is(err, nats.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}
