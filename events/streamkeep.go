package events

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// streamUpdated is where JetStream announces a change of a stream's
// configuration (nats-server's JSAdvisoryStreamUpdatedPre).
const streamUpdated = "$JS.EVENT.ADVISORY.STREAM.UPDATED."

// The stream keeps its MaxMsgs newest events, and MaxMsgs is the
// --event-retention of the node that last opened it. A node that went by
// its own flag would answer 410 for events the stream still has, or serve
// from its memory events the stream dropped. So every node goes by the stream's figure: read at open, at each
// stream info this node asks for anyway, and again when JetStream
// announces the stream was updated (another node started).

// keep is how many events the stream keeps, as last read.
func (s *Stream) keep() uint64 { return s.kept.Load() }

// noteConfig takes the stream's MaxMsgs from info (none: unlimited).
func (s *Stream) noteConfig(info *jetstream.StreamInfo) {
	if info == nil {
		return
	}
	n := uint64(info.Config.MaxMsgs)
	if info.Config.MaxMsgs <= 0 {
		n = ^uint64(0)
	}
	if old := s.kept.Swap(n); old != n && old != 0 {
		s.opts.log.Info("events: the cluster's event stream now keeps another number of events (a node started with another --event-retention)",
			zap.Uint64("was", old), zap.Int64("keeps", info.Config.MaxMsgs))
	}
}

// watchConfig re-reads the stream's info whenever JetStream announces an
// update of it, or its creation (made anew, streamanew.go).
func (s *Stream) watchConfig(nc *nats.Conn) (*nats.Subscription, error) {
	return nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.*."+s.sopts.name, func(msg *nats.Msg) {
		if !strings.HasPrefix(msg.Subject, streamUpdated) && !strings.HasPrefix(msg.Subject, streamCreated) {
			return // its leader elected, a snapshot, its deletion (the writer makes it again)
		}
		info, err := s.infoAfterAdvisory()
		if err != nil {
			s.opts.log.Warn("events: reading the event stream's new configuration", zap.Error(err))
			return
		}
		s.noteInfo(info)
	})
}

// infoAfterAdvisory reads the stream's info, again while it fails, for up
// to streamOpTimeout: a stream just made may not answer yet, and a node
// that neither publishes nor starts a tail has no other word of a stream
// made anew (its webhook waited for seqs of the old one).
func (s *Stream) infoAfterAdvisory() (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), streamOpTimeout)
	defer cancel()
	for {
		info, err := s.stream.Info(ctx)
		if err == nil || ctx.Err() != nil {
			return info, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond): // a retry's pace
		}
	}
}

// warnIfRetentionDiffers says, before this node sets the stream's
// MaxMsgs to its own flag, that the nodes disagree.
func warnIfRetentionDiffers(ctx context.Context, js jetstream.JetStream, name string, want int, log *zap.Logger) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return // none yet, or NATS answers the update below
	}
	if had := st.CachedInfo().Config.MaxMsgs; had != int64(want) {
		log.Warn("events: --event-retention differs from the cluster's event stream; this node sets it, and every node follows (give every node the same value)",
			zap.Int64("stream_kept", had), zap.Int("event_retention", want))
	}
}
