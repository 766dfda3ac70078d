package cluster

import (
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/mono"
	"github.com/cliser/cliser/internal/natsurl"
)

// leftCutOffServer moves the NATS connection to another server when a
// beat failed with it up: a server cut off from its peers (a network cut
// between NATS servers) has no quorum yet answers PINGs, so nats.go would
// stay on it while this node's heartbeat lapses and the others judge its
// live clients lost. Asking the server first does not tell: a cut-off
// server that led the JetStream meta group or the heartbeats' stream
// answers for them until it steps down, seconds later. A beat that failed
// on a healthy server (a stream electing its leader for longer than a
// beat waits) moves the node for nothing, which costs it a reconnect, and
// may land it on the cut-off server: so the heartbeat loop moves again
// while beats fail, a round of the servers known a beat at most: where
// no server has a quorum that bounds the circles. A move that finds no
// other server within a twelfth of a TTL (two of three lost: the one left
// is the only server that answers a dial) stops the moves for a TTL, so
// that the connection is not dropped each beat for nothing. Never with a
// single server known (given or discovered): there is nowhere to go. It
// reports whether the connection is up on another server.
func (n *Node) leftCutOffServer() bool {
	if !n.natsConnected() || n.ctx.Err() != nil || len(n.nc.Servers()) < 2 ||
		mono.Now() < n.noMoveUntil.Load() {
		return false
	}
	from := n.server()
	n.metrics.leftCutOff.Inc()
	log := n.log.Debug // the first move until a beat is stored is a warning
	if !n.moving.Swap(true) {
		log = n.log.Warn
	}
	log("cluster: a heartbeat failed with the NATS connection up (its server cut off from its peers?); moving to another server",
		zap.String("server", from))
	if err := n.nc.ForceReconnect(); err != nil {
		return false
	}
	if !n.awaitConnected(from, n.opts.heartbeatTTL/12) {
		// Back on the same server, or still dialling: no other server
		// answers (two of three lost). Moving again would only drop the
		// connection each beat; wait a TTL.
		n.noMoveUntil.Store(mono.Now() + int64(n.opts.heartbeatTTL))
		return false
	}
	return true
}

// awaitConnected waits up to d for the connection to be up on a server
// other than from. nats.go's own word, not natsConnected: the handler that
// tells it the connection dropped for the move runs a moment after
// ForceReconnect, and until then it still says connected.
func (n *Node) awaitConnected(from string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && n.ctx.Err() == nil {
		if at := n.server(); at != "" && at != from {
			return true
		}
		time.Sleep(5 * time.Millisecond) // a poll's pace
	}
	return false
}

// server is the NATS server this node is connected to, without the URL's
// user info ("" while not connected): url.Redacted, nats.go's, hides a
// password but shows a token (nats://TOKEN@host).
func (n *Node) server() string { return natsurl.Strip(n.nc.ConnectedUrl()) }
