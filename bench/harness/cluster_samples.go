package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/protocol"
)

// sampler times single clients the harness itself holds: the load engine
// counts in bulk, while these two figures need one client's own moments
// (its "140 connected", its "190 kicked") on the harness's clock.
type sampler struct {
	s        ClusterSettings
	nodes    []*clusterNode
	password string
}

// visibilityParallel is how many samples are timed at once: enough to get
// through 200 in seconds, few enough that the polling (a few thousand GETs
// a second at most) does not crowd out the nodes it measures.
const visibilityParallel = 8

// sampleClient is a client of the harness's own (a client.Conn, which
// answers keep-alives) and reports the time its session ended.
type sampleClient struct {
	conn   *client.Conn
	closed chan closeSeen // one value: how the session ended
}

type closeSeen struct {
	at  time.Time
	err error // client.Conn.Wait's: a *client.ClosedError for a 190
}

// dialSample registers cid on addr and returns once "140 connected" is
// read, with the time it was read.
func dialSample(ctx context.Context, addr, password, cid string, timeout time.Duration) (*sampleClient, time.Time, error) {
	conn, err := client.Dial(ctx, client.Config{Addr: addr, Password: password, ID: cid, DialTimeout: timeout, HandshakeTimeout: timeout})
	if err != nil {
		return nil, time.Time{}, err
	}
	c := &sampleClient{conn: conn, closed: make(chan closeSeen, 1)}
	go func() {
		err := conn.Wait()
		c.closed <- closeSeen{at: time.Now(), err: err}
	}()
	return c, conn.ConnectedAt(), nil
}

func (c *sampleClient) close() { _ = c.conn.Close(context.Background()) }

// connectedOn reports whether node's API shows cid connected.
func connectedOn(ctx context.Context, api *admin.Client, cid string) (bool, error) {
	rec, err := api.Get(ctx, cid)
	var se *admin.StatusError
	if errors.As(err, &se) && se.Status == 404 {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rec.CStatus, nil
}

// waitConnected polls node's API until cid is connected there and returns
// when it was first seen so.
func (m *sampler) waitConnected(ctx context.Context, api *admin.Client, cid string) (time.Time, error) {
	for {
		ok, err := connectedOn(ctx, api, cid)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(m.s.Poll):
		}
	}
}

func recordUS(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(max(int64(d/time.Microsecond), 1))
}

// visibility registers VisibilitySamples fresh clients, round-robin over
// the nodes, and times each from its "140 connected" until every node's
// API shows it connected (all) and until its own node's does (local).
// lost counts samples that did not get there within SampleTimeout.
func (m *sampler) visibility(ctx context.Context) (all, local *hdrhistogram.Histogram, lost int) {
	all, local = load.NewHistogram(), load.NewHistogram()
	var mu sync.Mutex
	var held []*sampleClient
	defer func() {
		for _, c := range held {
			c.close()
		}
	}()
	sem := make(chan struct{}, visibilityParallel)
	var wg sync.WaitGroup
	for i := range m.s.VisibilitySamples {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, everyNode, ownNode, err := m.visibilitySample(ctx, i)
			mu.Lock()
			defer mu.Unlock()
			if c != nil {
				held = append(held, c)
			}
			if err != nil {
				lost++
				return
			}
			recordUS(all, everyNode)
			recordUS(local, ownNode)
		}()
	}
	wg.Wait()
	return all, local, lost
}

// visibilitySample registers the i-th sample client on its node and times
// it from its "140 connected" until every node's API shows it connected
// and until its own node's does. The client, if it registered, is the
// caller's to hold until the samples are done.
func (m *sampler) visibilitySample(ctx context.Context, i int) (c *sampleClient, everyNode, ownNode time.Duration, err error) {
	home := m.nodes[i%len(m.nodes)]
	cid := fmt.Sprintf("vis-%s-%d", home.id, i)
	sctx, cancel := context.WithTimeout(ctx, m.s.SampleTimeout)
	defer cancel()
	c, t0, err := dialSample(sctx, home.Addr(), m.password, cid, m.s.SampleTimeout)
	if err != nil {
		return nil, 0, 0, err
	}
	// The holding node first: it answers from its own registry, and
	// polled after the others its time would be theirs.
	var last, mine time.Time
	order := append([]*clusterNode{home}, m.nodes...)
	for j, n := range order {
		if j > 0 && n == home {
			continue
		}
		at, err := m.waitConnected(sctx, n.admin, cid)
		if err != nil {
			return c, 0, 0, err
		}
		if n == home {
			mine = at
		}
		if at.After(last) {
			last = at
		}
	}
	return c, last.Sub(t0), mine.Sub(t0), nil
}

// routing holds RoutingSamples clients on the last node, waits until the
// first node sees each of them, then kicks them one at a time through the
// first node's API: route is POST sent until the client read "190
// kicked", answer is POST sent until its 202.
func (m *sampler) routing(ctx context.Context) (route, answer *hdrhistogram.Histogram, failed int) {
	route, answer = load.NewHistogram(), load.NewHistogram()
	holder, asker := m.nodes[len(m.nodes)-1], m.nodes[0]
	type held struct {
		cid string
		c   *sampleClient
	}
	var clients []held
	defer func() {
		for _, h := range clients {
			h.c.close()
		}
	}()
	for i := range m.s.RoutingSamples {
		cid := fmt.Sprintf("route-%d", i)
		c, _, err := dialSample(ctx, holder.Addr(), m.password, cid, m.s.SampleTimeout)
		if err != nil {
			failed++
			continue
		}
		clients = append(clients, held{cid, c})
	}
	for _, h := range clients {
		if err := m.kick(ctx, asker, h.cid, h.c, route, answer); err != nil {
			failed++
		}
	}
	return route, answer, failed
}

func (m *sampler) kick(ctx context.Context, asker *clusterNode, cid string, c *sampleClient, route, answer *hdrhistogram.Histogram) error {
	sctx, cancel := context.WithTimeout(ctx, m.s.SampleTimeout)
	defer cancel()
	// The first node must know who holds cid before it can route.
	if _, err := m.waitConnected(sctx, asker.admin, cid); err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := asker.admin.Kick(sctx, cid); err != nil {
		return err
	}
	recordUS(answer, time.Since(t0))
	select {
	case seen := <-c.closed:
		if !client.IsReason(seen.err, protocol.ReasonKicked) {
			return fmt.Errorf("%s: ended with %v, want kicked", cid, seen.err)
		}
		recordUS(route, seen.at.Sub(t0))
		return nil
	case <-sctx.Done():
		return sctx.Err()
	}
}

// clusterConnectedGauge counts the clients connected anywhere, as a node's
// mirror of the bucket sees them.
const clusterConnectedGauge = "cliser_cluster_clients_connected"

// waitMirrors polls every node's /metrics until its cluster gauge reads at
// least want, and says how long that took.
func waitMirrors(ctx context.Context, nodes []*clusterNode, want int64, limit time.Duration) (time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for _, n := range nodes {
		for {
			var v float64
			g, err := scrapeGauges(ctx, n.admin.Base()+"/metrics", clusterConnectedGauge)
			if err == nil {
				v = g[0]
			}
			if err == nil && int64(v) >= want {
				break
			}
			select {
			case <-ctx.Done():
				return time.Since(t0), fmt.Errorf("%s: %s did not reach %d within %v (last %v, %v)", n.id, clusterConnectedGauge, want, limit, v, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return time.Since(t0), nil
}
