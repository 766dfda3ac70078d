package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/natsurl"
)

// MetricClusterJetStreamStartFailures counts the joins at start that NATS
// answered and its JetStream could not serve yet (docs/cluster.md).
const MetricClusterJetStreamStartFailures = "cliser_cluster_jetstream_start_failures_total"

// jsProbeTimeout bounds a try's first question to JetStream: a NATS
// cluster without a meta leader leaves it unanswered for its first 10 s,
// and the wait should say so before the join's 30 s would.
const jsProbeTimeout = 5 * time.Second

// JetStream API errors that pass: the NATS cluster has no meta leader
// (a quorum of its servers is not up, or it is electing one), cannot
// handle the request on this server now, or has too few servers up to
// place the buckets' replicas (a StatefulSet still starting).
const (
	jsClusterNotAvailable jetstream.ErrorCode = 10008
	jsClusterNotLeader    jetstream.ErrorCode = 10009
	jsClusterNoPeers      jetstream.ErrorCode = 10005
)

// jsReplicasNotSupported: a NATS server that runs JetStream alone (no
// NATS cluster) keeps one replica of a bucket, and refuses more.
const jsReplicasNotSupported jetstream.ErrorCode = 10074

// join joins the cluster on nc (join is one try: cluster.JoinContext),
// waiting while NATS answers but its JetStream cannot serve yet: a NATS
// cluster of three with one server up has no quorum, and a node that
// exited then crash-looped (natsWait says why a wait beats that). The
// wait is natsWait's, for JetStream: /readyz says what it waits for, one
// warning, one line a logPace, one when it joined. A JetStream that is not
// there at all (jsRefusal) ends the start. Nothing of a failed try needs
// undoing: a join only makes or updates the buckets, and nc stays open.
func (w *natsWait) join(ctx context.Context, nc *nats.Conn, join func(context.Context) (*cluster.Node, error)) (*cluster.Node, error) {
	defer w.end()
	for attempt := 1; ; attempt++ {
		node, err := joinOnce(ctx, nc, w.jsProbe, join)
		switch {
		case err == nil:
			w.ended("cluster: JetStream answered; joined", attempt)
			return node, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case jsRefusal(nc, err) != "" || !jsNotYet(err):
			return nil, err
		}
		w.jsFailures.Inc()
		shown := errors.New(strings.TrimPrefix(err.Error(), "cluster: ")) // why's own words begin so
		w.note(shown, true, "cluster: NATS answers but its JetStream cannot serve yet; waiting for it "+
			"(the protocol port opens once this node has joined)", "cluster: still waiting for JetStream")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(w.retry):
		}
	}
}

// joinOnce asks JetStream for the account's info, then joins. The
// question is cheap and answered only by a meta leader, so a NATS
// cluster without one is told within limit (jsProbeTimeout).
func joinOnce(ctx context.Context, nc *nats.Conn, limit time.Duration, join func(context.Context) (*cluster.Node, error)) (*cluster.Node, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	probe, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if _, err := js.AccountInfo(probe); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s (no meta leader yet?): %w", limit, err)
		}
		return nil, fmt.Errorf("JetStream account info: %w", err)
	}
	return join(ctx)
}

// jsNotYet: err says JetStream cannot serve yet, and may later.
// "Not enabled" too: jsRefusal comes first, and past it this is a server
// that offers JetStream but had no responder for the request.
func jsNotYet(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case jsClusterNotAvailable, jsClusterNotLeader, jsClusterNoPeers, jetstream.JSErrCodeJetStreamNotEnabled:
			return true
		}
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		unanswered(err)
}

// jsRefusal says what to fix when err shows that NATS has no JetStream
// for this node, or none that keeps --cluster-replicas copies; "" otherwise:
// no waiting brings it. nats.go reports "not
// enabled" for a request nobody answered too, so that counts only from
// a server that says (in its INFO) that it runs without JetStream.
func jsRefusal(nc *nats.Conn, err error) string {
	var api *jetstream.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode == jsReplicasNotSupported:
		return fmt.Sprintf("the NATS server at %s runs JetStream alone, not in a NATS cluster, and keeps one replica "+
			"of a bucket: give --cluster-replicas 1, or run NATS as a cluster of at least as many servers as replicas",
			natsurl.Strip(nc.ConnectedUrl()))
	case errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return "NATS has no JetStream for this node's account: enable JetStream for it in NATS's accounts " +
			"(jetstream: enabled); the cluster keeps its records in JetStream"
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled) && withoutJetStream(nc):
		return fmt.Sprintf("the NATS server at %s runs without JetStream, which the cluster keeps its records in: "+
			"start nats-server with -js (or a jetstream {} block in its config)", natsurl.Strip(nc.ConnectedUrl()))
	}
	return ""
}

// withoutJetStream: nc is connected, to a server whose INFO offers no
// JetStream.
func withoutJetStream(nc *nats.Conn) bool {
	on, _ := nc.ConnectedServerJetStream()
	return !on && nc.Status() == nats.CONNECTED
}
