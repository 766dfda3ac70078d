package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsretry"
	"github.com/cliser/cliser/registry"
)

// command is a request on cliser.node.<id>.cmd.
type command struct {
	Op   string `json:"op"` // "shutdown", "kick" or "shutdown-all"
	CID  string `json:"cid,omitempty"`
	Text string `json:"text,omitempty"`
}

// reply is its answer. Error is one of the codes below, "" on success.
type reply struct {
	Sent  int    `json:"sent,omitempty"`
	Error string `json:"error,omitempty"`
}

// Reply error codes: the sentinels of registry.Directory, by name.
const (
	codeNotFound     = "not found"
	codeNotConnected = "not connected"
	codeDraining     = "draining"
	codeOther        = "failed"
)

func codeOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, registry.ErrNotFound):
		return codeNotFound
	case errors.Is(err, registry.ErrNotConnected):
		return codeNotConnected
	case errors.Is(err, registry.ErrDraining):
		return codeDraining
	}
	return codeOther
}

func errOf(code, node string) error {
	switch code {
	case "":
		return nil
	case codeNotFound:
		return registry.ErrNotFound
	case codeNotConnected:
		return registry.ErrNotConnected
	case codeDraining:
		// That node drains, not the one asked: say which.
		return fmt.Errorf("%w (node %s answered so)", registry.ErrDraining, node)
	}
	// The node could not queue it: it is stopping, most likely.
	return fmt.Errorf("%w: node %s could not queue the command", registry.ErrUnavailable, node)
}

// serveCommand runs a command routed here on this node's registry. It is
// called on the subscription's goroutine; the commands only queue work on
// event loops, so it does not hold it long.
func (n *Node) serveCommand(m *nats.Msg) {
	out, _ := json.Marshal(answerCommand(n.local, n.log, m.Data))
	_ = m.Respond(out)
}

// answerCommand runs the command data holds on local and says how it went:
// one of the codes above, codeOther for a command this build does not
// know.
func answerCommand(local registry.Directory, log *zap.Logger, data []byte) reply {
	var c command
	var r reply
	var err error
	if jerr := json.Unmarshal(data, &c); jerr != nil {
		err = fmt.Errorf("cluster: bad command: %w", jerr)
	} else {
		switch c.Op {
		case "shutdown":
			err = local.Shutdown(c.CID, c.Text)
		case "kick":
			err = local.Kick(c.CID)
		case "shutdown-all":
			r.Sent, err = local.ShutdownAll(c.Text)
		default:
			err = fmt.Errorf("cluster: unknown command %q", c.Op)
		}
	}
	if err != nil && codeOf(err) == codeOther {
		log.Warn("cluster: routed command failed", zap.String("op", c.Op), zap.String("cid", c.CID), zap.Error(err))
	}
	r.Error = codeOf(err)
	return r
}

// request sends c to node and waits for its reply until ctx ends. "No
// responders" is tried again until then: a live node is without its
// subscription while it dials another NATS server, its own having stopped
// (milliseconds), and nobody got the command, so sending it again is safe.
func (n *Node) request(ctx context.Context, node string, c command) (reply, error) {
	data, _ := json.Marshal(c)
	n.metrics.routed.Inc()
	var msg *nats.Msg
	err := natsretry.NoResponders(ctx, func() (err error) {
		msg, err = n.nc.RequestWithContext(ctx, n.subject(node), data)
		return err
	})
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return reply{}, &noAnswer{node: node, err: err}
	case connectionDown(err):
		// Down since route saw it up (a move off a stopped server): the
		// refusal route gives a connection seen down, in its words.
		return reply{}, fmt.Errorf("%w (NATS does not answer, so node %s can not be asked: %v)", registry.ErrUnavailable, node, err)
	case err != nil:
		return reply{}, fmt.Errorf("%w: node %s: %v", registry.ErrUnavailable, node, err)
	}
	return readReply(node, msg.Data)
}

// connectionDown: err is the node's NATS connection being down, closed or
// dialling, not an answer of NATS.
func connectionDown(err error) bool {
	return errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrConnectionClosed)
}

// noAnswer is a command sent and not answered in time: a node that is
// only slow (a paused process) carries it out when it gets to it, so the
// 503 says so rather than "can not be reached; try again" (cluster audit).
type noAnswer struct {
	node string
	err  error
}

func (e *noAnswer) Error() string {
	return fmt.Sprintf("node %s did not answer in time (%v); it may still carry the command out: read the client's record before trying again",
		e.node, e.err)
}

func (e *noAnswer) Unwrap() error { return registry.ErrUnavailable }

// readReply reads node's answer to a command: nil or one of Directory's
// errors. An answer this build can not read is ErrUnavailable, as a code
// it does not know is (errOf): the node may have run the command or not,
// and the caller's answer is a 503 to try again, not a 500.
func readReply(node string, data []byte) (reply, error) {
	var r reply
	if err := json.Unmarshal(data, &r); err != nil {
		return reply{}, fmt.Errorf("%w: node %s answered %.64q, which this node can not read: %v", registry.ErrUnavailable, node, data, err)
	}
	if r.Sent < 0 { // no build sends one; summed, it would hide other nodes' orders
		return reply{}, fmt.Errorf("%w: node %s answered %.64q: a negative count", registry.ErrUnavailable, node, data)
	}
	return r, errOf(r.Error, node)
}

// Directory is the registry.Directory of the whole cluster: reads from the
// bucket (list from the mirror), commands routed to the holding node.
// Call it after Start; the Directory is safe from any goroutine, as
// registry.Directory asks.
func (n *Node) Directory() registry.Directory { return (*directory)(n) }

type directory Node

func (d *directory) node() *Node { return (*Node)(d) }

// List answers from the mirror: every node's records in cid order, the
// same cursor as a single node's. It lags the bucket by the watch's
// delivery, and the bucket lags each node by its flush interval.
func (d *directory) List(q registry.Query) (registry.Page, error) {
	return d.node().list(q), nil
}

// Stale: see Node.Stale (registry.Staler).
func (d *directory) Stale() bool { return d.node().Stale() }

// Get reads the bucket, waiting at most the request timeout. A client that
// registered on this node less than a flush interval ago is answered from
// this node's registry. When NATS does not answer (the connection is down:
// at once; the bucket read failed: after it), the answer comes from the
// mirror and Stale says so.
func (d *directory) Get(cid string) (registry.Record, error) {
	n := d.node()
	if rec, ok := n.reg.Get(cid); ok && rec.CStatus {
		return rec, nil
	}
	if !n.natsConnected() {
		n.unhealthy(nats.ErrConnectionReconnecting)
		return n.mirrored(cid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.requestTimeout)
	defer cancel()
	rec, err := n.read(ctx, cid)
	if errors.Is(err, registry.ErrUnavailable) {
		n.unhealthy(err)
		return n.mirrored(cid)
	}
	return rec, err
}

// read is cid's record in the bucket: from the slot the index names.
func (n *Node) read(ctx context.Context, cid string) (registry.Record, error) {
	f := n.fetch(ctx, []string{cid})[0]
	return f.rec, f.err
}

// mirrored is cid's record as this node knows it without NATS: its own
// registry's when this node held the client last (its changes may not
// have reached the bucket), else what the index holds of it (cid, node,
// cstatus; the other fields are the bucket's to tell).
func (n *Node) mirrored(cid string) (registry.Record, error) {
	local, haveLocal := n.reg.Get(cid)
	n.mu.Lock()
	e, ok := n.index.Get(key(cid))
	var partial registry.Record
	if ok {
		partial = n.partialLocked(e)
	}
	n.mu.Unlock()
	switch {
	case haveLocal && (!ok || e.node() == n.self):
		return local, nil
	case ok:
		return partial, nil
	}
	return registry.Record{}, registry.ErrNotFound
}

// Shutdown and Kick run here when this node holds cid, else on the node
// the bucket names.
func (d *directory) Shutdown(cid, text string) error {
	return d.route(cid, command{Op: "shutdown", CID: cid, Text: text}, func(l registry.Directory) error { return l.Shutdown(cid, text) })
}

func (d *directory) Kick(cid string) error {
	return d.route(cid, command{Op: "kick", CID: cid}, func(l registry.Directory) error { return l.Kick(cid) })
}

// route runs a command here or on the holder. The bucket read and the
// request each wait at most the request timeout (3 s); with the NATS
// connection down a command for another node's client is refused at once.
func (d *directory) route(cid string, c command, here func(registry.Directory) error) error {
	n := d.node()
	if _, err := n.reg.Conn(cid); err == nil {
		return here(n.local)
	}
	down := !n.natsConnected()
	rec, mirror, err := n.holderOf(cid, down)
	switch {
	case mirror && (errors.Is(err, registry.ErrNotFound) || err == nil && !rec.CStatus):
		// Not held here now, and the index is as of before NATS went
		// away: another node may hold it since. A client registered on n3
		// during an outage was "no client" (404) on n1 (cluster audit).
		return fmt.Errorf("%w (NATS does not answer, so whether another node holds %s can not be told)", registry.ErrUnavailable, cid)
	case err != nil:
		return err
	case !rec.CStatus:
		return registry.ErrNotConnected
	case rec.Node == n.id:
		return here(n.local)
	case down:
		return fmt.Errorf("%w (NATS does not answer, so node %s can not be asked)", registry.ErrUnavailable, rec.Node)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.requestTimeout)
	defer cancel()
	_, err = n.request(ctx, rec.Node, c)
	return err
}

// holderOf is cid's record, which names its node: the bucket's, or the
// index's (mirror true) when NATS is down or the bucket does not answer
// while the connection is up (on R3, for the seconds its stream elects a
// leader after a NATS server stopped, or a read lost with a server that
// died as it went out). The request needs no stream, and the holder
// checks the client itself.
func (n *Node) holderOf(cid string, down bool) (_ registry.Record, mirror bool, _ error) {
	if down {
		rec, err := n.mirrored(cid)
		return rec, true, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.requestTimeout)
	defer cancel()
	rec, err := n.read(ctx, cid)
	if errors.Is(err, registry.ErrUnavailable) {
		rec, err = n.mirrored(cid)
		return rec, true, err
	}
	return rec, false, err
}

// ShutdownAll asks every live node (heartbeat present) at once and sums
// what they sent. A node that does not answer in time is logged, counted
// (cliser_cluster_shutdown_all_unconfirmed_total) and named in an
// *registry.UnconfirmedError beside the sum; the others' orders stand.
func (d *directory) ShutdownAll(text string) (int, error) {
	n := d.node()
	if !n.natsConnected() {
		return 0, shutdownAllUnavailable("NATS does not answer, so the other nodes can not be asked")
	}
	alive, err := n.aliveNodes(statsTimeout) // then requestTimeout for the orders: within an admin client's 5 s
	if err != nil {
		return 0, shutdownAllUnavailable("the live nodes could not be listed: " + err.Error())
	}
	delete(alive, n.id)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sent := 0
	var unconfirmed []string
	for node := range alive {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), n.opts.requestTimeout)
			defer cancel()
			r, err := n.request(ctx, node, command{Op: "shutdown-all", Text: text})
			if err != nil {
				n.log.Warn("cluster: shutdown-all not confirmed by a node", zap.String("to", node), zap.Error(err))
				n.metrics.unconfirmed.Inc()
				mu.Lock()
				unconfirmed = append(unconfirmed, node)
				mu.Unlock()
				return
			}
			n.log.Debug("cluster: shutdown-all confirmed", zap.String("by", node), zap.Int("sent", r.Sent))
			mu.Lock()
			sent += r.Sent
			mu.Unlock()
		}()
	}
	here, err := n.local.ShutdownAll(text)
	wg.Wait()
	if err == nil && len(unconfirmed) > 0 {
		slices.Sort(unconfirmed)
		err = &registry.UnconfirmedError{Nodes: unconfirmed}
	}
	return sent + here, err
}

// shutdownAllUnavailable is ShutdownAll's refusal, a 503 as
// registry.ErrUnavailable is, in its own words: that error's text speaks
// of one client's node, so an operator who ordered every client of the
// cluster to shut down was told of "the node that holds the client".
type shutdownAllUnavailable string

func (e shutdownAllUnavailable) Error() string {
	return "shutdown of every client in the cluster not sent, to any client on any node: " + string(e) + "; try again later"
}

func (e shutdownAllUnavailable) Unwrap() error { return registry.ErrUnavailable }
