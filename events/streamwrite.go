package events

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// The stream's writer: one goroutine that publishes what Append queued,
// in order, and checks every acknowledgment, so that Append never waits
// on NATS.

// Append queues ev for the stream; it never blocks (see queue). The event
// gets an id and a time when it has none.
func (s *Stream) Append(ev Event) bool {
	if ev.Time.IsZero() {
		ev.Time = s.opts.now()
	}
	return s.q.push(ev)
}

// run is the writer: it publishes what is queued, in order, and waits for
// every acknowledgment; a batch with a failure is published again from its
// first failed event (the stream drops what it already has by message id).
func (s *Stream) run() {
	defer close(s.done)
	var batch []Event
	backoff := 100 * time.Millisecond
	for {
		if s.q.len() > 0 {
			s.hold() // in the queue, where cliser_events_queued shows them
		}
		closed := s.q.isClosed() // before the take, as the Log's writer (run)
		batch = s.q.take(batch, writeChunk)
		if len(batch) > 0 {
			s.giveIDs(batch)
			sent, err := s.publish(batch)
			if sent > 0 {
				s.q.wrote()
				s.q.published(batch[:sent])
			}
			if err != nil {
				s.q.putBack(batch[sent:])
				s.m.storeErrors.Inc()
				remade, rerr := s.remakeIfGone(err)
				if rerr != nil {
					err = rerr
				}
				// The stream made again is no failing publish: said once, as
				// such (remakeIfGone), it is published to after the backoff.
				if !remade && !s.failing.Swap(true) {
					s.opts.log.Error("events: publishing to the cluster's event stream failed; retrying", zap.Error(err))
				}
				if !remade && unanswered(err) && s.w.moveOff() {
					s.opts.log.Debug("events: the writer's NATS connection moves to another server", zap.Error(err))
				}
				s.stored.advance(sent)
				if s.q.retryAfter(&backoff, s.opts.log) {
					return
				}
				continue
			}
			if s.failing.Swap(false) {
				s.opts.log.Info("events: publishing to the event stream works again")
			}
			s.stored.advance(sent)
			s.spillPublished()
			backoff = 100 * time.Millisecond
			continue
		}
		if closed {
			return
		}
		<-s.q.wake
	}
}

// giveIDs gives each event of batch that has none the next ID: once, as
// it is first taken, so that a batch put back is published again under
// the same message ids.
func (s *Stream) giveIDs(batch []Event) {
	for i := range batch {
		if batch[i].ID == "" {
			batch[i].ID = s.ids.id()
		}
	}
}

// errNoAck: a publish's acknowledgment did not come within
// streamOpTimeout.
var errNoAck = errors.New("no acknowledgment from JetStream in time")

// inProcess is JetStream's 409 "duplicate message id is in process": the
// leader holds a proposal with the id that it has not committed.
const inProcess jetstream.ErrorCode = 10158

// unanswered reports whether a publish failed for want of a stored
// answer, a reason to try it through another server (moveOff). A server
// cut off from its peers gives silence (errNoAck) while it thinks it
// still leads the stream, a 409 in process to the same events tried
// again (it holds them, uncommitted, until it steps down: 16 s seen),
// and "no response from stream" when the leader is a peer out of its
// reach. A healthy server gives the latter during an election, and the
// 409 in a step-down stall (docs/events.md): a move then costs a
// reconnect and nothing else.
func unanswered(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, errNoAck) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		(errors.As(err, &api) && api.ErrorCode == inProcess)
}

// noRetry turns nats.go's own retries of a publish that found no stream
// off: it tried each event again on a timer of its own (twice, 250 ms
// apart), so events that all found none landed in the order of their
// timers once the stream was there again: made again after a deletion
// (streamanew.go), or with a leader again. The writer tries again from
// the first failed event, in order.
var noRetry = jetstream.WithRetryAttempts(0)

// publish sends batch in chunks and checks every acknowledgment. It
// returns how many events from the start are known stored.
func (s *Stream) publish(batch []Event) (int, error) {
	for start := 0; start < len(batch); start += publishChunk {
		if start > 0 {
			s.hold() // a backlog of records that starts mid-batch goes first too
		}
		chunk := batch[start:min(start+publishChunk, len(batch))]
		futures := make([]jetstream.PubAckFuture, 0, len(chunk))
		var pubErr error
		for i := range chunk {
			data, err := AppendJSON(nil, &chunk[i])
			if err != nil {
				return start, err
			}
			f, err := s.w.js.PublishMsgAsync(&nats.Msg{Subject: s.subject(chunk[i].CID), Data: data},
				jetstream.WithMsgID(chunk[i].ID), noRetry)
			if err != nil {
				pubErr = err
				break
			}
			futures = append(futures, f)
		}
		timeout := time.After(streamOpTimeout)
		for i, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return start + i, err
			case <-timeout:
				return start + i, errNoAck
			case <-s.q.abandoned:
				return start + i, errors.New("the stop ran out of time waiting for JetStream's acknowledgment")
			}
		}
		if pubErr != nil {
			return start + len(futures), pubErr
		}
	}
	return len(batch), nil
}
