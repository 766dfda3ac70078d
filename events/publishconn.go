package events

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/internal/natsstate"
	"github.com/cliser/cliser/internal/prom"
)

// The writer publishes on a connection of its own, nc's twin but for one
// option: nothing is buffered while it reconnects. nats.go keeps what is
// published as a connection is found dead and sends it on the next one,
// ahead of what was written to the dead one and lost; the writer, which
// publishes again from the first lost event, stored those after it. The
// node's own connection keeps its buffer: its requests wait through a
// blip rather than fail.

// writerConn is the writer's connection, and the listener that closes
// it with the node's.
type writerConn struct {
	nc     *nats.Conn
	link   *natsstate.State // nc's, read without its lock
	js     jetstream.JetStream
	owner  *nats.Conn
	closed chan nats.Status // owner's CLOSED
}

// dialWriter dials the writer's connection: nc's options (servers,
// credentials, TLS, pings), no reconnect buffer, none of nc's handlers,
// which are the node's (ClosedCB may close a channel once), but its
// report of asynchronous errors. It is closed with nc (a test closing nc
// kills a node) or by close.
func dialWriter(nc *nats.Conn) (*writerConn, error) {
	o := nc.Opts
	o.Name += " (events)"
	o.ReconnectBufSize = -1
	o.ConnectedCB, o.DisconnectedCB, o.DisconnectedErrCB, o.ReconnectedCB = nil, nil, nil, nil
	o.ReconnectErrCB, o.ClosedCB, o.DiscoveredServersCB, o.LameDuckModeHandler = nil, nil, nil, nil
	pc, err := o.Connect()
	if err != nil {
		return nil, fmt.Errorf("events: the writer's NATS connection: %w", err)
	}
	link := natsstate.Of(pc)
	js, err := jetstream.New(pc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	w := &writerConn{nc: pc, link: link, js: js, owner: nc, closed: nc.StatusChanged(nats.CLOSED)}
	go func() {
		<-w.closed // or closed by close's RemoveStatusListener
		pc.Close()
	}()
	return w, nil
}

// reconnects counts the connection's reconnects: after a drop, or a
// move (moveOff). Not the node's connection's
// (cliser_cluster_nats_reconnects_total): this one goes its own way.
func (w *writerConn) reconnects() prometheus.Collector {
	return prom.CounterFunc(MetricWriterReconnects,
		"Times the event writer's own NATS connection was made again: after a drop, or to leave a server whose publishes got no stored answer (a server cut off from its peers).",
		func() float64 { return float64(w.link.Reconnects()) })
}

// close closes the connection, once the writer is done with it.
func (w *writerConn) close() {
	w.owner.RemoveStatusListener(w.closed)
	w.nc.Close()
}

// moveOff moves the connection to another server after a publish got no
// answer with it up (unanswered): a server cut off from its peers still
// answers PINGs, so nats.go stays on it while the stream's leader is out
// of its reach (the node's own connection moves on failed beats,
// cluster/move.go, and this one must not stay behind). An election on a
// healthy server costs a reconnect; the writer's backoff paces the moves.
func (w *writerConn) moveOff() bool {
	if !w.link.Connected() || len(w.nc.Servers()) < 2 {
		return false
	}
	return w.nc.ForceReconnect() == nil
}
