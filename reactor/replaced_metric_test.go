package reactor

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/protocol"
)

// disconnectObserver counts the ends of registered connections by reason.
// Safe for concurrent use.
type disconnectObserver struct {
	nopObserver
	mu sync.Mutex
	by map[protocol.Reason]int
}

func (o *disconnectObserver) Disconnected(r protocol.Reason) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.by[r]++
}

func (o *disconnectObserver) counts() map[protocol.Reason]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return clone(o.by)
}

// A client whose "130 ok" close is held (another client's order is out)
// and that registers again meanwhile is taken over: the registry ends that
// session as replaced, in its record and its client.disconnected event.
// The metrics count it so too. Before, the held close counted it under
// cliser_disconnects_total{reason="shutdown"} while the event log said
// "replaced" (metrics audit).
func TestHeldCloseTakenOverCountsAsReplaced(t *testing.T) {
	obs := &disconnectObserver{by: map[protocol.Reason]int{}}
	srv := startServer(t, WithObserver(obs), WithLoops(1), WithTick(time.Hour))
	a := srv.connect(t, "held-over")
	b := srv.connect(t, "held-deaf")
	sa := registeredSession(t, srv, "held-over")
	lp := sa.lp
	if n := srv.ShutdownAll(""); n != 2 {
		t.Fatalf("ShutdownAll sent %d orders, want 2", n)
	}
	a.Expect("130 shutdown")
	b.Expect("130 shutdown")
	a.Send(protocol.ShutdownAck)
	waitOnLoop(t, lp, func() bool { return sa.state == acked }, "a's ack read")

	srv.connect(t, "held-over") // the takeover, while a's close is held
	b.Send(protocol.ShutdownAck)
	waitOnLoop(t, lp, func() bool { return len(lp.held) == 0 }, "no order out: the last ack closed the held at once")
	a.ExpectClosed()
	b.ExpectClosed()
	srv.waitDisconnected(t, "held-deaf", protocol.ReasonShutdown)
	eventually(t, func() bool {
		c := obs.counts()
		return c[protocol.ReasonReplaced]+c[protocol.ReasonShutdown] == 2
	}, "both ends counted")
	assert.Equal(t, map[protocol.Reason]int{protocol.ReasonReplaced: 1, protocol.ReasonShutdown: 1}, obs.counts())
	r, _ := srv.reg.Get("held-over")
	assert.True(t, r.CStatus, "the newer session holds the record")
}
