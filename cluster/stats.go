package cluster

import (
	"context"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// A node's figures (its admin API's own GET /v1/stats summary) are asked
// for on cliser.node.<id>.stats, so that any node can answer for every
// node. The payload is opaque here: the admin API makes and reads it.

// statsTimeout bounds how long GatherStats waits for a node's figures; a
// node that is slower shows as unreachable rather than hold the page.
const statsTimeout = time.Second

// NodeReport is one node as GatherStats found it.
type NodeReport struct {
	Node string
	// Alive: its heartbeat has not aged out. With NATS away no other
	// node's can be read: they come back not alive, with Err set.
	Alive bool
	// Connected and Records are the bucket's counts of the records this
	// node holds (it held the client last), as this node's mirror has them.
	Connected, Records int
	// Figures is the node's own answer; nil when it did not answer (Err
	// says why) or was not asked (not alive).
	Figures []byte
	Err     error
}

func (n *Node) statsSubject(node string) string {
	return n.opts.subjectPrefix + ".node." + keyOf(node) + ".stats"
}

// ServeStats answers the other nodes' requests for this node's figures
// with own() until the node closes. Call it once, after Start. Safe from
// any goroutine; own is called on the subscription's goroutine.
func (n *Node) ServeStats(own func() []byte) error {
	sub, err := n.nc.Subscribe(n.statsSubject(n.id), func(m *nats.Msg) {
		if n.ctx.Err() == nil {
			_ = m.Respond(own())
		}
	})
	if err != nil {
		return err
	}
	go func() {
		<-n.ctx.Done()
		_ = sub.Unsubscribe()
	}()
	return nil
}

// GatherStats returns every node the cluster knows, in id order: the
// alive ones (a heartbeat) and the ones that hold records in the bucket
// without one (down). own is this node's figures, taken without a round
// trip; the heartbeats are listed and every other alive node is asked at
// once, each for at most statsTimeout (or ctx), so that the answer comes
// well within an admin client's 5 s even when the streams have no quorum
// and NATS takes requests it does not answer. With NATS away the other nodes' liveness is unknown: they
// come back not alive, with Err set, those alive at the last read of the
// heartbeats that worked included. Safe from any goroutine.
func (n *Node) GatherStats(ctx context.Context, own func() []byte) []NodeReport {
	alive, aliveErr := map[string]bool{}, error(nil)
	if !n.natsConnected() {
		aliveErr = nats.ErrConnectionReconnecting
	} else if a, err := n.aliveNodes(statsTimeout); err != nil {
		aliveErr = err
	} else {
		alive = a
	}
	alive[n.id] = true
	byNode := n.mirrorCounts()
	listed := alive
	if aliveErr != nil {
		// The nodes alive at the last read that worked are listed too,
		// not alive, with Err: one that holds no record was left out, as
		// if it had gone.
		if known := n.aliveKnown.Load(); known != nil {
			listed = maps.Clone(*known)
			listed[n.id] = true
		}
	}
	for id := range listed {
		if _, ok := byNode[id]; !ok {
			byNode[id] = &NodeReport{Node: id}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	var wg sync.WaitGroup
	out := make([]NodeReport, 0, len(byNode))
	for id, r := range byNode {
		r.Alive = alive[id]
		switch {
		case id == n.id:
			r.Figures = own()
		case aliveErr != nil:
			r.Err = aliveErr
		case r.Alive:
			wg.Add(1)
			go func(r *NodeReport) {
				defer wg.Done()
				r.Figures, r.Err = n.askStats(ctx, r.Node)
			}(r)
		}
	}
	wg.Wait()
	for _, r := range byNode {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

func (n *Node) askStats(ctx context.Context, node string) ([]byte, error) {
	msg, err := n.nc.RequestWithContext(ctx, n.statsSubject(node), nil)
	if err != nil {
		n.log.Debug("cluster: node did not answer for its figures", zap.String("peer", node), zap.Error(err))
		return nil, err
	}
	return msg.Data, nil
}

// mirrorCounts counts the mirror's records by holding node.
func (n *Node) mirrorCounts() map[string]*NodeReport {
	by := map[string]*NodeReport{}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index.Ascend(func(e entry) bool {
		node := n.holderLocked(e)
		if node == "" {
			return true
		}
		r := by[node]
		if r == nil {
			r = &NodeReport{Node: node}
			by[node] = r
		}
		r.Records++
		if e.connected() {
			r.Connected++
		}
		return true
	})
	return by
}
