package reactor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// countingObserver counts the reactor's events, for tests of its
// bookkeeping. Safe for concurrent use.
type countingObserver struct {
	nopObserver
	mu         sync.Mutex
	handshakes map[protocol.Reason]int
	rejected   map[protocol.Reason]int
	shutSent   int
	capped     int // PerIPCapped's
}

func newCountingObserver() *countingObserver {
	return &countingObserver{handshakes: map[protocol.Reason]int{}, rejected: map[protocol.Reason]int{}}
}

func (o *countingObserver) Handshake(r protocol.Reason) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handshakes[r]++
}

func (o *countingObserver) Rejected(r protocol.Reason) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rejected[r]++
}

func (o *countingObserver) PerIPCapped() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.capped++
}

func (o *countingObserver) cappedCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.capped
}

func (o *countingObserver) ShutdownSent() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.shutSent++
}

func (o *countingObserver) counts() (handshakes, rejected map[protocol.Reason]int, shutSent int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return clone(o.handshakes), clone(o.rejected), o.shutSent
}

func clone(m map[protocol.Reason]int) map[protocol.Reason]int {
	out := make(map[protocol.Reason]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// onLoopSync runs f on lp's event loop and waits for it.
func onLoopSync(t *testing.T, lp *loop, f func()) {
	t.Helper()
	done := make(chan struct{})
	require.NoError(t, lp.el.Execute(context.Background(), runnable(func() { f(); close(done) })))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not run the task")
	}
}

type runnable func()

func (f runnable) Run(context.Context) error { f(); return nil }

// wheelSize reads the size of lp's wheel on its loop.
func wheelSize(t *testing.T, lp *loop) int {
	t.Helper()
	var n int
	onLoopSync(t, lp, func() { n = lp.wheel.size })
	return n
}

// registeredSession returns the live session of cid.
func registeredSession(t *testing.T, srv *testServer, cid string) *session {
	t.Helper()
	c, err := srv.reg.Conn(cid)
	require.NoError(t, err)
	s, ok := c.(*session)
	require.True(t, ok, "registry.Conn is a *session")
	return s
}

// breakWrites makes every later write on s's socket fail (EPIPE), so gnet
// closes the connection inside Write, synchronously, as after a reset.
func breakWrites(t *testing.T, s *session) {
	t.Helper()
	require.NoError(t, unix.Shutdown(s.conn.Fd(), unix.SHUT_WR))
}

// A 130 order whose write fails closes the connection at once: it is not
// counted as sent and the closed session is not linked back into the wheel.
func TestFailedShutdownWriteIsNotCountedNorScheduled(t *testing.T) {
	obs := newCountingObserver()
	srv := startServer(t, WithObserver(obs), WithKeepAlive(time.Hour, time.Minute))
	srv.connect(t, "wfail-sd")
	s := registeredSession(t, srv, "wfail-sd")
	require.Equal(t, 1, wheelSize(t, s.lp), "the registered session waits for its keep-alive")

	var sent bool
	onLoopSync(t, s.lp, func() {
		breakWrites(t, s)
		sent = s.shutdown("maintenance")
	})
	assert.False(t, sent)
	assert.Equal(t, closed, s.state, "gnet ran OnClose inside the write")
	assert.Equal(t, 0, wheelSize(t, s.lp), "a closed session is not in the wheel")
	_, _, shutSent := obs.counts()
	assert.Zero(t, shutSent, "an order that was never written is not counted")
	assert.Zero(t, srv.ordersOut.Load(), "nor left out")
	eventually(t, func() bool { r, _ := srv.reg.Get("wfail-sd"); return !r.CStatus }, "record disconnected")
}

// The same for a keep-alive whose write fails.
func TestFailedKeepAliveWriteIsNotScheduled(t *testing.T) {
	srv := startServer(t, WithKeepAlive(time.Hour, time.Minute))
	srv.connect(t, "wfail-ka")
	s := registeredSession(t, srv, "wfail-ka")
	onLoopSync(t, s.lp, func() {
		breakWrites(t, s)
		s.sendKeepAlive()
	})
	assert.Equal(t, closed, s.state)
	assert.Equal(t, 0, wheelSize(t, s.lp), "a closed session is not in the wheel")
}

// ShutdownAll counts only the orders that went out.
func TestShutdownAllCountsOnlyWrittenOrders(t *testing.T) {
	obs := newCountingObserver()
	srv := startServer(t, WithObserver(obs), WithLoops(1), WithKeepAlive(time.Hour, time.Minute))
	good := srv.connect(t, "wfail-good")
	srv.connect(t, "wfail-bad")
	s := registeredSession(t, srv, "wfail-bad")
	onLoopSync(t, s.lp, func() { breakWrites(t, s) })

	assert.Equal(t, 1, srv.ShutdownAll("update"))
	good.Expect("130 shutdown update")
	_, _, shutSent := obs.counts()
	assert.Equal(t, 1, shutSent)
	assert.Equal(t, 1, wheelSize(t, s.lp), "only the good client waits for its ack")
}

// In PROXY mode the per-IP limits run once the header is read; a refusal
// there is one rejection, as on accept, not also a failed handshake.
func TestProxiedPerIPRefusalCountedOnce(t *testing.T) {
	obs := newCountingObserver()
	srv := startServer(t, WithObserver(obs), WithProxyProtocol(true), WithMaxHandshakesPerIP(1))
	hdr := testkit.ProxyHeader(t, 1, "198.51.100.9", 1000)

	first := srv.dial(t)
	first.Send(hdr)
	first.Expect("110 password") // holds the address's one handshake slot
	second := srv.dial(t)
	second.Send(hdr)
	second.ExpectClosed(closeLine(protocol.ReasonServerFull))

	eventually(t, func() bool { return srv.Connections() == 1 }, "the refused connection is closed")
	handshakes, rejected, _ := obs.counts()
	assert.Equal(t, 1, rejected[protocol.ReasonServerFull])
	assert.Zero(t, handshakes[protocol.ReasonServerFull], "the refusal is not also a failed handshake")
	assert.Equal(t, 1, obs.cappedCount(), "the per-IP cap's, behind the header")
}

// The per-IP handshake cap's "server full" is counted apart from the
// connection ceiling's, which the wire and the rejections' label call the
// same: a site behind one NAT is told from a full server (metrics audit).
func TestPerIPCapCountedApartFromTheCeiling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		capped int
	}{
		{"per-IP cap", []Option{WithMaxHandshakesPerIP(1)}, 1},
		{"ceiling", []Option{WithMaxConns(1), WithMaxHandshakesPerIP(0)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := newCountingObserver()
			srv := startServer(t, append([]Option{WithObserver(obs)}, tc.opts...)...)
			first := srv.dial(t)
			first.Expect("110 password")
			second := srv.dial(t)
			second.ExpectClosed(closeLine(protocol.ReasonServerFull))
			eventually(t, func() bool { _, rejected, _ := obs.counts(); return rejected[protocol.ReasonServerFull] == 1 },
				"the refusal counted")
			assert.Equal(t, tc.capped, obs.cappedCount())
		})
	}
}
