package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsretry"
)

// beat renews this node's heartbeat key, waiting at most timeout. The
// nodes bucket's TTL ages it out when the node stops renewing it: that,
// not a message of goodbye, is how the others learn that a node is gone.
// With resend, a put no stream leader got ("no response from stream") is
// sent again within timeout; without, it fails at once, which tells a
// server cut off from the leader soonest.
func (n *Node) beat(timeout time.Duration, resend bool) error {
	// Bound by the node's life too: Close must not wait out a beat that
	// NATS, being away, will never answer.
	ctx, cancel := context.WithTimeout(n.ctx, timeout)
	defer cancel()
	rev, err := n.putBeat(ctx, resend)
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	n.lastBeat.Store(rev)
	n.moving.Store(false)
	return nil
}

// putBeat writes a heartbeat and returns its revision. The value is kept
// before it is sent (lastPut): one that lands unanswered is still known
// as this run's at Close (removeUnansweredBeat).
func (n *Node) putBeat(ctx context.Context, resend bool) (rev uint64, err error) {
	val, _ := json.Marshal(map[string]any{"node": n.id, "at": time.Now().UTC()})
	n.lastPut.Store(&val)
	put := func() (err error) {
		rev, err = n.nodes.Put(ctx, keyOf(n.id), val)
		return err
	}
	if resend {
		err = natsretry.NoResponders(ctx, put)
	} else {
		err = put()
	}
	return rev, err
}

// claimID refuses an id another live node uses. A heartbeat found under
// this id is either an earlier run's that stopped without removing it (it
// is not renewed and ages out) or a live node's (renewed every third of
// the TTL): watching it for half the TTL tells which. Only a start after
// a crash waits; a clean stop removes its heartbeat. Read from the stream
// leader: a replica behind it could say the key is gone.
func (n *Node) claimID() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.heartbeatTTL+n.opts.opTimeout)
	defer cancel()
	first, err := n.leaderBeat(ctx, n.id)
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	if first == 0 {
		return nil
	}
	n.log.Info("cluster: a heartbeat under this node id exists; checking that no live node renews it",
		zap.Duration("for", n.opts.heartbeatTTL/2))
	deadline := time.NewTimer(n.opts.heartbeatTTL / 2)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-deadline.C:
			return nil
		case <-poll.C:
		}
		cur, err := n.leaderBeat(ctx, n.id)
		switch {
		case err != nil:
			return fmt.Errorf("cluster: heartbeat: %w", err)
		case cur == 0:
			return nil
		case cur != first:
			return ErrNodeIDInUse
		}
	}
}

// every runs fn each interval until the node closes; call it on a
// goroutine counted in n.wg.
func (n *Node) every(interval time.Duration, fn func()) {
	defer n.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// heartbeatLoop renews the key every third of the TTL, one beat at a
// time, each given up after one interval. A beat NATS took in and never
// answered (it stopped meanwhile) then delays the next by an interval, not
// by the op timeout (5 s, more than a short TTL): a live node renews its
// key within about an interval of NATS answering again, inside the TTL
// the others wait then before judging it (markLost).
func (n *Node) heartbeatLoop() {
	interval := n.opts.heartbeatTTL / 3
	n.every(interval, func() {
		if h := n.opts.beforeBeat; h != nil {
			h()
		}
		err := n.beat(interval, false)
		// Each move goes to the next server of nats.go's pool, so one for
		// each server known is a round of them: a round begun on a healthy
		// server while the stream elects its leader passes the cut-off
		// server and does not end on it, as two of three moves did. Each
		// hop resends for its whole wait, or a round of hops that found no
		// leader would end within a second, maybe on the cut-off server,
		// before the election does.
		for moves := 1; err != nil && moves <= len(n.nc.Servers()) && n.leftCutOffServer(); moves++ {
			err = n.beat(interval/2, true) // on the new server, within the TTL
		}
		if err != nil && n.remakeIfGone(interval/2) {
			err = n.beat(interval, false)
		}
		if err == nil {
			n.lookForRenewal(time.Now())
		}
		if err != nil {
			n.unhealthy(err) // logged once per outage, not once per beat
		}
	})
}
