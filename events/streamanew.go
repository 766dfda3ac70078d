package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/prom"
)

// The stream deleted under running nodes (`nats stream rm CLISER_EVENTS`,
// or a stream made anew by an operator): every publish failed until a
// node restarted, and once the stream was back, a node that followed the
// old one went on from its old seq, in memory and in its readers, while
// the new stream counted from 1 again. Now the writer makes a stream that
// JetStream says is gone again, as OpenStream made it, and every node
// takes a stream made at another time than the one it reads for a new
// stream: it drops its tail and its memory of the old one, its newest seq
// is the new stream's, and Renewed tells its readers (the webhook).

// MetricRenewed counts the stream found made anew (docs/events.md).
const MetricRenewed = "cliser_events_stream_renewed_total"

// streamCreated is where JetStream announces a stream's creation
// (nats-server's JSAdvisoryStreamCreatedPre).
const streamCreated = "$JS.EVENT.ADVISORY.STREAM.CREATED."

// Renewable is a log that can be deleted and made again under its running
// readers, its seqs from 1 again: the cluster's stream.
type Renewable interface {
	// Renewed is closed when this node next finds the log made anew.
	Renewed() <-chan struct{}
	// Current is the log as the log itself answers now (the stream's
	// leader), not as this node last knew it: that may lag behind, or,
	// after the log was made anew, stand ahead. An error when no such
	// answer came.
	Current(ctx context.Context) (Origin, error)
}

// Origin is which log a seq counts in, and how far it has come.
type Origin struct {
	Made   time.Time // when the log was made; another time, another log
	Newest uint64
}

var _ Renewable = (*Stream)(nil)

// Renewed implements Renewable.
func (s *Stream) Renewed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renewed
}

// Current implements Renewable: the stream's info from its leader. A
// member of a stream with no leader answers from its own copy, which may
// not have caught up; that answer is no answer here.
func (s *Stream) Current(ctx context.Context) (Origin, error) {
	if err := s.connected(); err != nil {
		return Origin{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	info, err := s.stream.Info(ctx)
	if err != nil {
		return Origin{}, s.unavailable("stream", err)
	}
	s.noteInfo(info)
	if info.Cluster != nil && info.Cluster.Leader == "" {
		return Origin{}, s.unavailable("stream", errors.New("no leader"))
	}
	return Origin{Made: info.Created, Newest: info.State.LastSeq}, nil
}

// noteInfo takes what a stream info says: its MaxMsgs, and whether the
// stream is still the one this node reads. s.f.mu not held.
func (s *Stream) noteInfo(info *jetstream.StreamInfo) {
	s.noteConfig(info)
	if s.madeAnew(info) {
		s.f.mu.Lock()
		s.stopTailLocked()
		s.renewLocked(info)
		s.f.mu.Unlock()
	}
}

// madeAnew notes info's creation time and reports whether it is another
// than the stream's this node knew. Any other, not only a later one: a
// NATS server's clock may be behind the one that made the old stream.
func (s *Stream) madeAnew(info *jetstream.StreamInfo) bool {
	if info == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if info.Created.Equal(s.made) {
		return false
	}
	known := !s.made.IsZero()
	s.made = info.Created
	return known
}

// renewLocked takes info's stream for a new one: the cache is of the old
// one (the tail, stopped, took it along), its newest seq is the new
// stream's, and the readers are told. s.f.mu held, no tail running.
func (s *Stream) renewLocked(info *jetstream.StreamInfo) {
	s.resetCache()
	was := s.n.newest.Load()
	s.n.reset(info.State.LastSeq)
	s.renewals.Inc()
	s.opts.log.Error("events: the cluster's event stream was made anew (deleted and made again): its seqs begin again "+
		"from 1; this node drops what it read of the old one",
		zap.String("stream", s.sopts.name), zap.Uint64("old_newest", was), zap.Uint64("newest", info.State.LastSeq),
		zap.Time("made", info.Created))
	s.mu.Lock()
	close(s.renewed)
	s.renewed = make(chan struct{})
	s.mu.Unlock()
}

// remakeIfGone makes the stream again, as OpenStream made it, when a
// publish found no stream and JetStream says there is none (its meta
// leader's answer; a stream without a leader is there). True when the
// stream is there again, made here or by another node: publish at once.
func (s *Stream) remakeIfGone(pubErr error) (bool, error) {
	if !errors.Is(pubErr, jetstream.ErrNoStreamResponse) {
		return false, nil
	}
	// Bounded short: a stream without a leader (an election) finds no
	// stream too, and its members may answer only after a delay; the
	// writer waits on this before it tries again.
	check, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err := s.js.Stream(check, s.sopts.name)
	cancel()
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamOpTimeout)
	defer cancel()
	st, err := s.js.CreateStream(ctx, s.cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		st, err = s.js.Stream(ctx, s.sopts.name) // another node made it first
	}
	if err != nil {
		return false, fmt.Errorf("stream %s is gone (deleted), and making it again failed: %w", s.sopts.name, err)
	}
	s.opts.log.Error("events: the cluster's event stream was deleted (nats stream rm?); made it again as it was, empty",
		zap.String("stream", s.sopts.name))
	s.noteInfo(st.CachedInfo())
	return true, nil
}

func newRenewals() prometheus.Counter {
	return prom.Counter(MetricRenewed, "Times this node found the cluster's event stream made anew "+
		"(deleted and made again, its seqs from 1 again); a node that finds it gone makes it again.")
}
