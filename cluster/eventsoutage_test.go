package cluster_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/node"
)

// An operator reads the event log of a node whose NATS is away: each read
// answers 503 at once with an error that says to try again (not a 500,
// which says cliser is broken, nor a wait past the admin client's
// timeout), and a follower of the stream (`cliser events tail`) started
// meanwhile waits the outage out and gets the events made after it, where
// it used to exit on the first error.
func TestEventReadsDuringNATSOutage(t *testing.T) {
	ns, restartNATS := restartableNATS(t)
	n1 := startNodeOpts(t, ns.ClientURL(), "n1", node.WithEventRetention(1000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	register(t, n1.srv.Addr(), "e-1")
	var before uint64
	eventually(t, func() bool {
		zero := uint64(0)
		page, err := n1.api.Events(ctx, &zero, 100, admin.EventsFilter{CID: "e-1"}, 0)
		if err != nil || len(page.Events) == 0 {
			return false
		}
		before = page.Events[len(page.Events)-1].Seq
		return true
	}, "e-1's connect in the log")

	stopNATS(t, ns, n1)

	resumed := followEvents(ctx, t, n1.api, &before, "resuming after a seq")
	pinned := followEvents(ctx, t, n1.api, nil, "only new events")

	start := time.Now()
	_, err := n1.api.Events(ctx, &before, 100, admin.EventsFilter{}, 0)
	assertUnavailable(t, err, "GET /v1/events?after=N")
	_, err = n1.api.Events(ctx, nil, 100, admin.EventsFilter{}, 0)
	assertUnavailable(t, err, "GET /v1/events")
	_, err = n1.api.History(ctx, "e-1", 10)
	assertUnavailable(t, err, "GET /v1/clients/e-1/history")
	assert.Less(t, time.Since(start), 3*time.Second, "503s at once, not after a NATS request's timeout")
	for _, f := range []*follower{resumed, pinned} {
		select {
		case err := <-f.done:
			t.Fatalf("the follower %s gave up during the outage: %v", f.name, err)
		default:
		}
	}

	restartNATS()
	eventually(t, func() bool { return pinned.isConnected() && resumed.isConnected() }, "both followers connected again")
	register(t, n1.srv.Addr(), "e-2")
	for _, f := range []*follower{resumed, pinned} {
		ev := f.next(t, "e-2")
		assert.Equal(t, events.TypeConnected, ev.Type, "follower %s", f.name)
		assert.Greater(t, ev.Seq, before, "follower %s", f.name)
	}
	page, err := n1.api.History(ctx, "e-2", 10)
	require.NoError(t, err)
	assert.Len(t, page.Sessions, 1)
	cancel()
	for _, f := range []*follower{resumed, pinned} {
		assert.NoError(t, <-f.done, "follower %s", f.name)
	}
	n1.stop() // before the second nats-server's cleanup, registered after the node's
}

func assertUnavailable(t *testing.T, err error, what string) {
	t.Helper()
	var se *admin.StatusError
	require.ErrorAs(t, err, &se, what)
	assert.Equal(t, http.StatusServiceUnavailable, se.Status, "%s: %v", what, err)
	assert.Contains(t, se.Message, "try again", what)
}

// follower is admin.Client.Stream in a goroutine, as `cliser events tail`.
type follower struct {
	name      string
	evs       chan events.Event
	connected chan bool
	state     bool
	done      chan error
}

func followEvents(ctx context.Context, t *testing.T, c *admin.Client, after *uint64, name string) *follower {
	t.Helper()
	f := &follower{name: name, evs: make(chan events.Event, 64), connected: make(chan bool, 64), done: make(chan error, 1)}
	go func() {
		f.done <- c.Stream(ctx, after, admin.EventsFilter{}, func(ev events.Event) error {
			f.evs <- ev
			return nil
		}, func(up bool, _ error) { f.connected <- up })
	}()
	return f
}

// isConnected drains the follower's (re)connections and drops and says
// whether the last one left it connected.
func (f *follower) isConnected() bool {
	for {
		select {
		case up := <-f.connected:
			f.state = up
		default:
			return f.state
		}
	}
}

// next is the follower's next event of cid, within the tests' bound.
func (f *follower) next(t *testing.T, cid string) events.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-f.evs:
			if ev.CID == cid {
				return ev
			}
		case err := <-f.done:
			t.Fatalf("follower %s ended: %v", f.name, err)
		case <-deadline:
			t.Fatalf("follower %s: no event of %s", f.name, cid)
		}
	}
}
