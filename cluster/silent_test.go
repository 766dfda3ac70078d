package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
)

// silentTTL is the heartbeat TTL of the silent-server tests: short, so
// that a lapse shows within the test, and at least the 3 s from which the
// node's PINGs scale with it (cluster.PingOptions).
const silentTTL = 3 * time.Second

// A NATS server goes silent for node n1 (a partition, a frozen host: its
// socket stays open, no FIN, no RST, nothing comes back) while n1 can
// reach the cluster's other servers. n1 must dial another within a third
// of a heartbeat TTL, so that its heartbeat never lapses: none of its
// live clients is marked "node lost", its new clients are listed on every
// node, a command routed to it reaches its client. Before its PINGs were
// paced by the TTL, n1 sat on the dead connection for minutes and the
// others marked its clients lost after one TTL.
func TestSilentNATSServerFailsOver(t *testing.T) {
	t.Parallel()
	silentFailover(t, testkit.BothWays)
}

// The same with the server silent only on the way back: n1's beats still
// reach it and are stored, but no acknowledgement, delivery or PONG comes
// back, so n1's writes, its list and commands to it stall until it leaves.
func TestNATSServerSilentOnTheWayBack(t *testing.T) {
	t.Parallel()
	silentFailover(t, testkit.FromTarget)
}

func silentFailover(t *testing.T, ways testkit.Ways) {
	f, relays := startSilentFleet(t)
	victim := f.nodes[0]
	relay := relayInUse(t, relays, victim.nc.ConnectedUrl())
	beats := watchBeats(t, f.nats.URLs()[1], victim.id)
	reconnects := victim.nc.Stats().Reconnects

	relay.SetSilent(ways)
	silenced := time.Now()
	require.Eventually(t, func() bool { return relay.Dropped() > 0 }, silentTTL, time.Millisecond, "the relay drops")
	require.Eventually(t, func() bool { return victim.nc.Stats().Reconnects > reconnects && victim.nc.IsConnected() },
		silentTTL, 5*time.Millisecond, "%s left the silent server within a heartbeat TTL", victim.id)
	t.Logf("%s on %s %s after the silence", victim.id, victim.nc.ConnectedUrl(), time.Since(silenced))
	require.NotContains(t, victim.nc.ConnectedUrl(), relay.Addr())

	f.registerEverywhere(t, "after-silence")
	cid := victim.id + "-a"
	// Through another node, within a TTL of the move: a request sent as
	// the NATS cluster learns n1's new server may find no one listening
	// yet and time out (503, "may still carry it out"; CI once); tried
	// again, or found already kicked, it is done.
	require.Eventually(t, func() bool {
		_, err := f.nodes[1].api.Kick(context.Background(), cid)
		var se *admin.StatusError
		if err != nil {
			t.Logf("kick %s through %s: %v", cid, f.nodes[1].id, err)
		}
		return err == nil || errors.As(err, &se) && se.Status == http.StatusNotFound
	}, 2*silentTTL, 50*time.Millisecond, "kick %s through %s never done", cid, f.nodes[1].id)
	f.live[cid].ExpectClosed("190 " + protocol.ReasonKicked.String())
	delete(f.live, cid)

	// Two TTLs of beats after the silence, none missed.
	beats.awaitRenewals(t, silenced, 2*silentTTL)
	f.assertNoneLost(t)
	f.ready.assertAlways200(t)
	f.assertEventLog(t)
}

// startSilentFleet is three nodes on a three-server NATS cluster with
// every stream on three replicas and a heartbeat TTL of silentTTL, two
// clients each. n1 reaches each server, server 0 first, only through the
// relay of the same index it returns: a start under load may already
// have moved it off server 0 (a heartbeat that timed out), and the test
// silences the server it is on. The servers advertise no URL, or n1 could
// move to one around the relays. n2 and n3 prefer servers 1 and 2.
func startSilentFleet(t *testing.T) (*r3Fleet, []*testkit.Relay) {
	t.Helper()
	nc := testkit.NATSClusterOf3Unadvertised(t)
	urls := nc.URLs()
	relays := make([]*testkit.Relay, len(urls))
	viaRelays := make([]string, len(urls))
	for i, u := range urls {
		relays[i] = testkit.StartRelay(t, strings.TrimPrefix(u, "nats://"))
		viaRelays[i] = "nats://" + relays[i].Addr()
	}
	return startTTLFleet(t, nc, silentTTL, [][]string{
		viaRelays,
		{urls[1], urls[2], urls[0]},
		{urls[2], urls[0], urls[1]},
	}), relays
}

// relayInUse is the relay of url, the one a node is connected through.
func relayInUse(t *testing.T, relays []*testkit.Relay, url string) *testkit.Relay {
	t.Helper()
	for _, r := range relays {
		if strings.Contains(url, r.Addr()) {
			return r
		}
	}
	require.FailNow(t, "the node is not connected through a relay", "connected to %q", url)
	return nil
}

// startTTLFleet is three nodes on nc, node i dialling preferred[i] in
// order, with every stream on three replicas and a heartbeat TTL of ttl,
// two clients each.
func startTTLFleet(t *testing.T, nc *testkit.NATSCluster, ttl time.Duration, preferred [][]string) *r3Fleet {
	t.Helper()
	f := &r3Fleet{nats: nc, live: map[string]*testkit.RawClient{}}
	seen, logs := observer.New(zapcore.InfoLevel)
	f.logs = logs
	for i, order := range preferred {
		id := fmt.Sprintf("n%d", i+1)
		log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), seen)).Named(id)
		f.nodes = append(f.nodes, startNodeOpts(t, strings.Join(order, ","), id, node.WithLogger(log),
			node.WithClusterReplicas(3), node.WithEventRetention(10000), node.WithClusterHeartbeat(ttl),
			node.WithNATSOptions(nats.DontRandomize(), nats.ReconnectWait(50*time.Millisecond))))
	}
	f.nats.WaitCurrent(r3Streams...)
	for _, tn := range f.nodes {
		for _, c := range []string{"a", "b"} {
			f.live[tn.id+"-"+c] = register(t, tn.srv.Addr(), tn.id+"-"+c)
		}
	}
	f.assertAllListed(t, 15*time.Second)
	f.ready = watchReady(t, f.nodes)
	return f
}

// beatWatch polls a node's heartbeat key through a connection of its own
// and keeps each renewal's time, and each poll that found the key gone.
type beatWatch struct {
	mu       sync.Mutex
	renewals []time.Time // when the poll saw each
	stored   []time.Time // each one's time in the stream
	missing  []time.Time
}

// watchBeats polls node's key on the server at url every 20 ms until t
// ends.
func watchBeats(t *testing.T, url, node string) *beatWatch {
	t.Helper()
	kv := bucketKV(t, url, cluster.DefaultNodesBucket)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	w := &beatWatch{}
	go func() {
		defer close(done)
		last := uint64(0)
		for ctx.Err() == nil {
			e, err := kv.Get(ctx, node)
			w.mu.Lock()
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
				w.missing = append(w.missing, time.Now())
			case err == nil && e.Revision() != last:
				last = e.Revision()
				w.renewals = append(w.renewals, time.Now())
				w.stored = append(w.stored, e.Created())
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond): // the poll's pace
			}
		}
	}()
	return w
}

// awaitRenewals waits until the key was renewed after since+span (two
// TTLs), then asserts it was never found gone, and logs the longest gap
// between two renewals across since.
func (w *beatWatch) awaitRenewals(t *testing.T, since time.Time, span time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.renewals) > 0 && w.renewals[len(w.renewals)-1].After(since.Add(span))
	}, span+span/2, 20*time.Millisecond, "the heartbeat renewed %s after the silence", span)
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.missing, "polls that found the heartbeat aged out")
	gap := time.Duration(0)
	for i := 1; i < len(w.renewals); i++ {
		if w.renewals[i].After(since) {
			gap = max(gap, w.renewals[i].Sub(w.renewals[i-1]))
		}
	}
	t.Logf("heartbeat: longest gap after the silence %s (TTL %s)", gap, span/2)
}

// firstRenewalAfter waits up to within for a renewal after since and
// returns its time.
func (w *beatWatch) firstRenewalAfter(t *testing.T, since time.Time, within time.Duration) time.Time {
	t.Helper()
	var at time.Time
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, r := range w.renewals {
			if r.After(since) {
				at = r
				return true
			}
		}
		return false
	}, within, 20*time.Millisecond, "a heartbeat stored after %s", since)
	return at
}

// storedOfRenewalsBetween is, for each renewal seen after from and
// before to, its time in the stream.
func (w *beatWatch) storedOfRenewalsBetween(from, to time.Time) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var stored []time.Time
	for i, r := range w.renewals {
		if r.After(from) && r.Before(to) {
			stored = append(stored, w.stored[i])
		}
	}
	return stored
}

// missingCount is how many polls found the key gone.
func (w *beatWatch) missingCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.missing)
}

// startCutFleet starts three servers whose routes can be cut
// (testkit.NATSClusterOf3WithCuts) and a fleet with the heartbeat ttl on
// them, node i preferring server i.
func startCutFleet(t *testing.T, ttl time.Duration) (*testkit.NATSCluster, *r3Fleet) {
	t.Helper()
	nc := testkit.NATSClusterOf3WithCuts(t)
	urls := nc.URLs()
	return nc, startTTLFleet(t, nc, ttl, [][]string{
		{urls[0], urls[1], urls[2]},
		{urls[1], urls[2], urls[0]},
		{urls[2], urls[0], urls[1]},
	})
}
