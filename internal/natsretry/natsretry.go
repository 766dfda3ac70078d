// Package natsretry sends again a NATS request that nobody got. "No
// responders" means no subscriber had the request (a node between two
// NATS servers, a stream between two leaders), so sending it again cannot
// make it happen twice; any other failure may have been received and is
// the caller's to judge. Setup is the exception: it sends again a
// create-or-update that timed out, which is safe to repeat.
package natsretry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
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

// SetupTryTimeout bounds one try of a stream's or bucket's making within
// SetupTimeout. NATS leaves unanswered a create of a replicated stream
// that another client's create of the same stream overtook (nodes started
// together on a fresh NATS cluster: seen on nats-server 2.9 through 2.15,
// two nodes of three each time), and such a node waited out the whole
// SetupTimeout, then logged that JetStream could not serve; the next try
// finds the stream at once. A slow placement is not cut short by it: the
// server goes on placing the stream, and a later try finds it made.
const SetupTryTimeout = 5 * time.Second

type setupLogKey struct{}

// SetupContext is the context of a start's making of streams and
// buckets: SetupTimeout from parent, with log for Setup's tries again.
// Each such try is logged: a node whose creates went unanswered was
// silent for 23 s between "cluster: joined" and ready.
func SetupContext(parent context.Context, log *zap.Logger) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithValue(parent, setupLogKey{}, log), SetupTimeout)
}

// Setup calls f with a context of at most SetupTryTimeout, and again,
// after a pause of up to a second, while a try ran out of that time or met
// a stream being placed (placing), and ctx has some left; it returns f's
// last answer, and logs each try again to SetupContext's logger. The
// pause is random:
// nodes started together would otherwise try again together, and meet
// again. f must be safe to repeat (a create-or-update of one config).
// Without a deadline on ctx, f is called once, with ctx.
func Setup[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	if _, ok := ctx.Deadline(); !ok {
		return f(ctx)
	}
	log, _ := ctx.Value(setupLogKey{}).(*zap.Logger)
	for try := 1; ; try++ {
		tctx, cancel := context.WithTimeout(ctx, SetupTryTimeout)
		v, err := f(tctx)
		cancel()
		if err == nil || ctx.Err() != nil || !(errors.Is(err, context.DeadlineExceeded) || placing(err)) {
			return v, err
		}
		if log != nil {
			log.Info("NATS: a stream or bucket of the start got no answer in time, or was seen half made; trying again "+
				"(NATS leaves unanswered a create that another node's overtook)", zap.Int("try", try), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(rand.N(time.Second)):
		}
	}
}

// placing reports whether err is a replicated stream's making seen half
// done. A node whose bucket's create had just returned read the bucket's
// stream as "stream not found" and exited, one of three nodes started
// together on a loaded machine (TestBinaryNodesStartedTogetherOnAFreshNATSCluster);
// and a create-or-update finds no stream to update, then the name taken
// by another node's create, when the two cross. The next try finds the
// stream.
func placing(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse)
}

// CreateOrUpdateKV is js.CreateOrUpdateKeyValue through Setup: the
// cluster's buckets and the webhook's are made so.
func CreateOrUpdateKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return Setup(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, cfg)
	})
}
