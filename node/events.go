package node

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// eventLog is the event log serve writes and the admin API reads: the
// single-node bbolt log, or the cluster's JetStream stream.
type eventLog interface {
	events.Reader
	Append(events.Event) bool
	Close() error
	CloseWithin(context.Context) error
	Healthy() error
	Collectors() []prometheus.Collector
}

var (
	_ eventLog = (*events.Log)(nil)
	_ eventLog = (*events.Stream)(nil)
)

// changeSink hands registry and cluster changes to the event log, once it
// is open: the cluster node is made (with the sink) before the log, which
// needs its NATS connection. Nothing calls it before the log is set.
type changeSink struct {
	l atomic.Value // eventLog
	// node names the node of a change whose record names none: on a
	// single node (whose records name no node) this node; "" in a
	// cluster, where every record names its own.
	node string
	// ended counts the cluster's session ends (emitMarked), once the
	// metrics are made.
	ended atomic.Pointer[func(protocol.Reason)]
}

func (s *changeSink) set(l eventLog) { s.l.Store(&l) }

// countEnds has ended told of each session end emitMarked hears.
func (s *changeSink) countEnds(ended func(protocol.Reason)) { s.ended.Store(&ended) }

// emitMarked is emit for the cluster node's own changes. Of those, the
// "node lost" ends are the sessions of lost nodes whose marks this node
// won (once for the cluster, as their events): no reactor saw them end,
// so they are counted here, in cliser_disconnects_total and the stats'
// disconnects. Before, the counter's "node lost" stayed 0 on every node
// and a node's crash showed in no overview (cluster audit). The "server
// restarted" ends of the start are counted by Restarted.
func (s *changeSink) emitMarked(c registry.Change) {
	if c.Kind == registry.ChangeDisconnected && c.Record.Reason == protocol.ReasonNodeLost {
		if f := s.ended.Load(); f != nil {
			(*f)(c.Record.Reason)
		}
	}
	s.emit(c)
}

func (s *changeSink) emit(c registry.Change) {
	if l, _ := s.l.Load().(*eventLog); l != nil && *l != nil {
		(*l).Append(eventOf(c, s.node))
	}
}

// openEventLog opens the event log: in cluster mode the cluster's
// JetStream stream, else a file in the data dir next to the registry (its
// own file: see events.FileName). Nil when off.
func openEventLog(o *options, b *backend) (eventLog, error) {
	log := o.log
	if o.eventRetention == 0 {
		log.Info("event log off (--event-retention 0)")
		return nil, nil
	}
	opts := []events.Option{events.WithRetention(o.eventRetention), events.WithLogger(log)}
	if b.node != nil {
		// Records go first: the event writer holds back while the
		// node's record writes are behind (a reconnect storm).
		sopts := []events.StreamOption{events.WithStreamReplicas(o.replicas), events.WithHoldWhile(b.node.Backlogged)}
		if o.dataDir != "" { // a stop while NATS is away keeps its queued events there
			sopts = append(sopts, events.WithSpill(filepath.Join(o.dataDir, events.SpillFile(o.nodeID))))
		}
		s, err := events.OpenStream(b.nc, opts, sopts...)
		if err != nil {
			return nil, fmt.Errorf("--cluster: %w", err)
		}
		b.node.SetEventBarrier(s.Stored) // but a takeover's event goes before its record
		b.node.SetSessionEnds(sessionEnds(s.SpilledEnds()))
		log.Info("event log: the cluster's stream", zap.String("stream", events.DefaultStreamName),
			zap.Uint64("newest_seq", s.Newest()), zap.Int("retention", o.eventRetention))
		return s, nil
	}
	if o.dataDir == "" {
		return nil, configErrorf("the event log needs a data dir or a cluster (or --event-retention 0)")
	}
	path := filepath.Join(o.dataDir, events.FileName)
	starting := "starting an empty log, whose seqs go on after the newest the old one gave (events.seq; from 1 again without it)"
	warnIfEmpty(path, "event log", starting, log)
	warnIfMissing(b, path, "event log", starting, log)
	l, err := events.Open(path, opts...)
	if err != nil { // damaged or not, as the registry's and identity's files: exit 1, not a usage mistake's 2
		return nil, dataDirError(o.dataDir, err)
	}
	log.Info("event log open", zap.String("file", path), zap.Uint64("newest_seq", l.Newest()),
		zap.Int("retention", o.eventRetention))
	return l, nil
}

// sessionEnds are the session ends of a spill file's disconnects, for the
// cluster node's start to weigh against its records. One whose reason
// this version does not know is left to the start's "server restarted".
func sessionEnds(evs []events.Event) []cluster.SessionEnd {
	ends := make([]cluster.SessionEnd, 0, len(evs))
	for _, ev := range evs {
		if ev.Reason == nil || ev.Session == "" {
			continue
		}
		if r, ok := protocol.ParseReason(*ev.Reason); ok {
			ends = append(ends, cluster.SessionEnd{CID: ev.CID, Session: ev.Session, Reason: r, At: ev.Time})
		}
	}
	return ends
}

// releaseSpill publishes the spill file's events once the cluster node has
// started, but for the ends of sessions another node already ended (its
// "node lost" is in the log): one end per session.
func releaseSpill(l eventLog, cn *cluster.Node) {
	s, ok := l.(*events.Stream)
	if !ok {
		return
	}
	s.ReleaseSpill(func(ev events.Event) bool {
		return ev.Type != events.TypeDisconnected || !cn.EndPublished(ev.CID, ev.Session)
	})
}

// eventOf is the event of one registry change (EVENTS.md), its node the
// record's, else node. It runs under the registry's lock (that keeps each
// client's events in order), so it only builds the event; Append only
// queues it. The node's name is one string for every event: no copy.
func eventOf(c registry.Change, node string) events.Event {
	rec := c.Record
	if rec.Node != "" {
		node = rec.Node
	}
	ev := events.Event{
		Time: c.At, Node: node, CID: rec.CID, SID: rec.SID,
		CIP: rec.CIP, CPort: rec.CPort, Session: rec.Session,
	}
	switch c.Kind {
	case registry.ChangeConnected:
		ev.Type = events.TypeConnected
	case registry.ChangeDisconnected:
		ev.Type = events.TypeDisconnected
		connectedAt := rec.ConnectedAt
		ev.ConnectedAt, ev.Reason = &connectedAt, &reasonTexts[rec.Reason]
	case registry.ChangeShutdownSent:
		ev.Type = events.TypeShutdownSent
		text := c.Text
		ev.Reason = &text
	case registry.ChangeShutdownAcked:
		ev.Type = events.TypeShutdownAcked
	}
	return ev
}

// reasonTexts is every reason's text, for a disconnect event to point at
// rather than allocate a copy of per event (issue 17: the log's garbage per
// handshake). Nothing writes through an Event's Reason.
var reasonTexts = func() (t [256]string) {
	for i := range t {
		t[i] = protocol.Reason(i).String()
	}
	return t
}()

// closeEventLog writes what is queued and closes the log, giving up on
// what it cannot write once ctx ends (the stop out of time, or a second
// signal). Its error (events it could not write, lost) fails the stop: a
// drain that lost events must not exit 0 as if all were in order.
func closeEventLog(ctx context.Context, l eventLog) error {
	if l == nil {
		return nil
	}
	return l.CloseWithin(ctx)
}

// identityEventsTo hands identity's credential and ban changes to l
// (none when the log is off). Append never waits, as identity asks.
func identityEventsTo(l eventLog) []identity.Option {
	if l == nil {
		return nil
	}
	return []identity.Option{identity.WithOnEvent(func(e identity.Event) { l.Append(identityEvent(e)) })}
}

// identityEvent is the log's form of an identity change (EVENTS.md): the
// cid of a credential (never its secret); kind, value, by and reason of a
// ban.
func identityEvent(e identity.Event) events.Event {
	ev := events.Event{Type: e.Type, Time: e.Time, CID: e.CID, Kind: e.Kind, Value: e.Value, By: e.By}
	if e.Type == identity.EventBanCreated || e.Type == identity.EventBanDeleted {
		reason := e.Reason
		ev.Reason = &reason
	}
	return ev
}
