package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/mono"
)

// natsConnected: the NATS connection is up. While it is not (reconnecting),
// a request would wait out its whole timeout in the reconnect buffer, so
// callers that answer people check this first and fail at once.
func (n *Node) natsConnected() bool { return n.link.Connected() }

// natsOK: the connection is up and this node's NATS operations succeed
// (none failed since the last success). It is what
// cliser_cluster_nats_connected shows and what Stale denies.
func (n *Node) natsOK() bool { return n.natsConnected() && n.healthySince.Load() != 0 }

// Stale reports whether reads may lag the cluster: NATS does not answer,
// so the list, and a get that could not read the bucket, come from this
// node's mirror as it was when NATS went away. The admin API marks such
// answers with X-Cliser-Stale. Safe from any goroutine.
func (n *Node) Stale() bool { return !n.natsOK() }

// unhealthy notes that NATS failed this node (see healthySince). The first
// failure after a good spell is logged; the rest of the outage is not.
func (n *Node) unhealthy(err error) {
	if n.healthySince.Swap(0) != 0 && n.ctx.Err() == nil {
		n.log.Warn("cluster: NATS does not answer; reads come from this node's mirror (marked stale) "+
			"and commands to other nodes' clients are refused until it does", zap.Error(err))
	}
}

// healthy notes that a NATS operation succeeded; the first success after a
// failure is logged.
func (n *Node) healthy() {
	if n.healthySince.CompareAndSwap(0, mono.Now()) {
		n.log.Info("cluster: NATS answers again; judging other nodes after one heartbeat TTL")
	}
}

// restartGrace starts the wait before judging others lost again when NATS
// went away and came back between two of this node's operations, so that
// none of them failed: the other nodes may not have beaten meanwhile, and
// a restarted NATS may have lost their heartbeats. A failure noted
// meanwhile (0) is left for healthy, which starts the grace and logs.
func (n *Node) restartGrace() {
	if since := n.healthySince.Load(); since != 0 && n.healthySince.CompareAndSwap(since, mono.Now()) {
		n.log.Info("cluster: NATS connection re-established; judging other nodes after one heartbeat TTL")
	}
}

// The PINGs of a node's NATS connection (PingOptions). A server that goes
// silent (a partition, a frozen host: no FIN, no RST, nothing back) is
// noticed only by its PONGs missing; nats.go's defaults (every 2 min, 2
// out) take 4-6 min, while the others judge this node lost after a TTL.
const (
	pingsPerTTL = 12
	maxPingsOut = 2
	// minPingInterval keeps a server that answers a PING within 0.5 s
	// from being given up, whatever the TTL: below a TTL of 3 s a silent
	// server may then outlast a beat.
	minPingInterval = 250 * time.Millisecond
)

// PingOptions are the NATS connection options that let a node leave a
// silent server before its heartbeat lapses. nats.go gives a connection
// up when a PING falls due with maxPingsOut unanswered: between 2 and 3
// intervals (T/6 to T/4 of the TTL T) after the server fell silent. The
// beat on the dead connection waits out its third of a TTL and the next
// goes at once; the key ages out a TTL after the last beat stored, at
// worst a third of a TTL before the silence. So the node must be on
// another server within T/3 of it: T/4 and a dial. A server merely busy
// (storing, electing, under a reconnect storm) still answers PINGs from
// its reader of this connection, without JetStream; it is given up only
// after T/6 (1.7 s at the default TTL, 0.5 s at the least) without one.
// The cost: one PING and PONG per interval.
func PingOptions(heartbeatTTL time.Duration) []nats.Option {
	every := max(heartbeatTTL/pingsPerTTL, minPingInterval)
	return []nats.Option{nats.PingInterval(every), nats.MaxPingsOutstanding(maxPingsOut)}
}

// HealthNote is the cluster's health note (/v1/health): while NATS does
// not answer this node (what cliser_cluster_nats_connected 0 says), and
// once the clients bucket was made anew under this node, until it
// restarts. Safe from any goroutine.
func (n *Node) HealthNote() error {
	var notes []error
	if !n.natsOK() {
		notes = append(notes, errors.New("cluster: NATS does not answer this node: its lists are its own view (marked stale), "+
			"and commands to other nodes' clients and reads of the event log are refused until it does"))
	}
	if at := n.renewedAt.Load(); at != 0 {
		notes = append(notes, fmt.Errorf("cluster: the clients bucket was made anew at %s (NATS lost its store): this node's list still holds what it "+
			"read of the old one, and a client's older record may win over its newer; restart the nodes one at a time",
			time.Unix(0, at).UTC().Format(time.RFC3339)))
	}
	return errors.Join(notes...)
}
