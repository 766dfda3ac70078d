package cluster

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Takeover order. A client that moves to this node from another has its
// client.connected published by this node and the other node's
// client.disconnected ("replaced") by that one, which closes its session
// when this node's record reaches it. EVENTS.md wants them in the order
// they happened, and the event writer publishes behind the hot path and
// holds back during a record backlog, so nothing but this node can order
// them: before a flush writes a takeover, it waits for its events so far
// to be stored (SetEventBarrier). Only takeovers wait: a storm of new
// registrations keeps its records first (backlog.go).

// takeoverWait bounds that wait: past it the records go anyway (a slow
// stream must not hold the cluster's view back) and the wait counts as
// "late".
const takeoverWait = 2 * time.Second

// Results of a wait, cliser_cluster_takeover_event_waits_total's labels.
const waitStored, waitLate = "stored", "late"

// SetEventBarrier gives the node the event log's Stored (events.Stream):
// a function that returns once every event appended before it was called
// is in the log. Without one takeovers are written at once. Safe to call
// from any goroutine, before or after Start.
func (n *Node) SetEventBarrier(stored func(context.Context) error) {
	n.eventBarrier.Store(&stored)
}

// awaitTakeoverEvents waits for the events appended so far, before a
// flush that takes over a client held connected on another node writes
// its slots (weighPut tells). It runs in the flusher.
func (n *Node) awaitTakeoverEvents() {
	stored := n.eventBarrier.Load()
	if stored == nil {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, takeoverWait)
	defer cancel()
	if err := (*stored)(ctx); err != nil {
		n.metrics.takeoverWaits.WithLabelValues(waitLate).Inc()
		n.logLateTakeover(err)
		return
	}
	n.metrics.takeoverWaits.WithLabelValues(waitStored).Inc()
}

// logLateTakeover warns of a takeover written before its events were
// stored, at most once a minute (a stream that fails fails for a while;
// the counter has every one).
func (n *Node) logLateTakeover(err error) {
	if !n.lateTakeoverLog.Open(time.Minute) {
		return
	}
	n.log.Warn("cluster: a takeover is written before its client.connected is in the event log; "+
		"the replaced session's close may come first in the log", zap.Error(err))
}
