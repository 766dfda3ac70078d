// Package natsretry sends again a NATS request that nobody got. "No
// responders" means no subscriber had the request (a node between two
// NATS servers, a stream between two leaders), so sending it again cannot
// make it happen twice; any other failure may have been received and is
// the caller's to judge.
package natsretry

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Pause paces the tries: a stream elects a leader or a node dials another
// server in milliseconds to seconds, and a try costs one small request.
const Pause = 20 * time.Millisecond

// NoResponders calls f, and again every Pause while it fails with "no
// responders" (or JetStream's "no response from stream", a publish's last
// try that found none), until ctx ends; it returns f's last error. Safe
// from any goroutine (f's own safety aside).
func NoResponders(ctx context.Context, f func() error) error {
	err := f()
	for nobodyGot(err) {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(Pause):
		}
		err = f()
	}
	return err
}

func nobodyGot(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// SetupTimeout bounds the making (or updating) of a node's streams and
// buckets at its start. A JetStream cluster that is electing leaders, or
// loaded, can take tens of seconds to place a new stream of three
// replicas (a start gave up at 10 s on a loaded test machine); a start
// waits that out rather than exit.
const SetupTimeout = 30 * time.Second
