package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// TestBinaryWebhookClusterKillDeliverer: three serve processes on a real
// nats-server deliver the cluster's log once; the delivering one is killed
// (SIGKILL) while events keep coming. Another node takes over: every event
// of the log reaches the receiver, and an event that arrives twice came
// under the same webhook-id both times.
func TestBinaryWebhookClusterKillDeliverer(t *testing.T) {
	ns := testkit.NATS(t)

	rc := newHookReceiver(t, 0)
	env := append(webhookEnv(), "CLISER_CLUSTER="+ns.ClientURL())
	names := []string{"alpha", "beta", "gamma"}
	procs := map[string]*testkit.Served{}
	bases := map[string]string{}
	for _, name := range names {
		procs[name] = testkit.Serve(t, env, serveArgs(t.TempDir(), "--node-id", name, "--cluster-heartbeat", "2s",
			"--webhook-url", rc.srv.URL+"/hook", "--webhook-batch", "10", "--webhook-linger", "20ms")...)
		bases[name] = procs[name].AdminURL(t)
	}
	delivering := func() []string {
		var out []string
		for _, name := range names {
			if v, ok := testkit.Metric(bases[name], "cliser_webhook_delivering"); ok && v == 1 {
				out = append(out, name)
			}
		}
		return out
	}
	if !assert.Eventually(t, func() bool { return len(delivering()) == 1 }, 20*time.Second, 50*time.Millisecond, "one node delivers") {
		for _, name := range names {
			t.Logf("%s:\n%s", name, procs[name].LogText())
		}
		t.FailNow()
	}
	victim := delivering()[0]
	var survivors []string
	for _, name := range names {
		if name != victim {
			survivors = append(survivors, name)
		}
	}

	// A steady stream of events on the survivors, across the kill.
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, name := range survivors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				c := opsConnect(t, procs[name].Addr, opsPassword, fmt.Sprintf("%s-%d", name, i))
				_ = c.Conn.Close()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	for i := range 5 { // and clients on the victim, whose loss is an event too
		opsConnect(t, procs[victim].Addr, opsPassword, fmt.Sprintf("%s-%d", victim, i))
	}
	// Only records that reached the bucket can be marked lost (a node's
	// last flush interval dies with it, docs/events.md): kill the victim
	// once a survivor's mirror lists all five connected.
	mirror := adminClient(t, bases[survivors[0]])
	require.Eventually(t, func() bool {
		page, err := mirror.List(context.Background(), "connected", 1000, "")
		if err != nil {
			return false
		}
		n := 0
		for _, rec := range page.Clients {
			if strings.HasPrefix(rec.CID, victim+"-") {
				n++
			}
		}
		return n == 5
	}, 30*time.Second, 20*time.Millisecond, "the victim's clients in the cluster's records")
	require.Eventually(t, func() bool { _, _, evs := rc.snapshot(); return len(evs) >= 60 }, 30*time.Second, 20*time.Millisecond,
		"delivery under way")
	require.NoError(t, procs[victim].Cmd.Process.Kill())
	procs[victim].WaitExit(t)
	require.Eventually(t, func() bool { d := delivering(); return len(d) == 1 && d[0] != victim }, 30*time.Second, 50*time.Millisecond,
		"a survivor takes delivery over")
	time.Sleep(time.Second) // events keep coming after the takeover
	stop.Store(true)
	wg.Wait()

	// The log is complete once the victim's clients were marked lost.
	api := adminClient(t, bases[survivors[0]])
	require.Eventually(t, func() bool {
		n := 0
		for _, ev := range allEvents(t, api, admin.EventsFilter{}) {
			if ev.Reason != nil && *ev.Reason == "node lost" {
				n++
			}
		}
		return n >= 5
	}, 90*time.Second, 200*time.Millisecond, "the victim's clients marked lost (a loaded machine slows the heartbeats)")
	logged := allEvents(t, api, admin.EventsFilter{})
	newest := logged[len(logged)-1].Seq
	require.Eventually(t, func() bool {
		_, _, evs := rc.snapshot()
		return len(evs) > 0 && evs[len(evs)-1].Seq >= newest
	}, 60*time.Second, 50*time.Millisecond, "the receiver caught up with seq %d", newest)

	_, bad, evs := rc.snapshot()
	rc.mu.Lock()
	ids := append([]string(nil), rc.ids...)
	rc.mu.Unlock()
	require.Zero(t, bad, "every request verified")
	firstID := map[uint64]string{}
	next, dups := uint64(1), 0
	for i, ev := range evs {
		if id, seen := firstID[ev.Seq]; seen {
			dups++
			assert.Equal(t, id, ids[i], "event %d came again under another webhook-id", ev.Seq)
			continue
		}
		require.Equal(t, next, ev.Seq, "events arrive first in log order, none missing")
		firstID[ev.Seq] = ids[i]
		next++
	}
	require.EqualValues(t, newest+1, next, "every event of the log delivered")
	t.Logf("%d events, %d delivered twice, after killing %s", newest, dups, victim)
}
