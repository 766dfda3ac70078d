package client

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// fleetRecorder keeps what a Fleet reported, per session index.
type fleetRecorder struct {
	mu         sync.Mutex
	registered map[int]time.Duration // handshake latency
	sids       map[uint16]int
	keepAlives map[int]int
	shutdowns  map[int]string
	closed     map[int][]error
}

func newFleetRecorder() *fleetRecorder {
	return &fleetRecorder{registered: map[int]time.Duration{}, sids: map[uint16]int{},
		keepAlives: map[int]int{}, shutdowns: map[int]string{}, closed: map[int][]error{}}
}

func (r *fleetRecorder) events() FleetEvents {
	return FleetEvents{
		Registered: func(s *Session, sid uint16, at time.Time) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.registered[s.Index] = at.Sub(s.DialStart())
			r.sids[sid]++
		},
		KeepAlive: func(s *Session, _ uint64, _ time.Time) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.keepAlives[s.Index]++
		},
		Shutdown: func(s *Session, text string, _ time.Time) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.shutdowns[s.Index] = text
		},
		Closed: func(s *Session, err error, _ time.Time) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.closed[s.Index] = append(r.closed[s.Index], err)
		},
	}
}

func (r *fleetRecorder) with(f func(r *fleetRecorder) bool) func() bool {
	return func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return f(r)
	}
}

func newTestFleet(t *testing.T, addr string, ev FleetEvents) *Fleet {
	t.Helper()
	f, err := NewFleet(FleetConfig{Addr: addr, Password: realPassword, EventLoops: 2, Events: ev})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestFleetAgainstRealServer(t *testing.T) {
	const n = 200
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0", reactor.WithKeepAlive(50*time.Millisecond, time.Second))
	rec := newFleetRecorder()
	f := newTestFleet(t, srv.Addr(), rec.events())

	goroutinesBefore := runtime.NumGoroutine()
	sessions := make([]*Session, n)
	for i := range sessions {
		s, err := f.Open(context.Background(), i, fmt.Sprintf("fleet-%03d", i))
		require.NoError(t, err)
		sessions[i] = s
	}
	require.Eventually(t, rec.with(func(r *fleetRecorder) bool { return len(r.registered) == n }), 10*time.Second, 10*time.Millisecond)
	// No goroutine per session: n sessions on 2 loops.
	assert.Less(t, runtime.NumGoroutine()-goroutinesBefore, 20)
	rec.mu.Lock()
	assert.Len(t, rec.sids, n, "every sid distinct")
	for i, lat := range rec.registered {
		assert.Positive(t, lat, "session %d", i)
	}
	rec.mu.Unlock()
	connected, _ := reg.Counts()
	assert.Equal(t, n, connected)
	for _, s := range sessions[:5] {
		r, _ := reg.Get(s.ID)
		assert.Equal(t, r.SID, s.SID())
	}

	// Keep-alives over several intervals, every session answering.
	require.Eventually(t, rec.with(func(r *fleetRecorder) bool {
		for i := 0; i < n; i++ {
			if r.keepAlives[i] < 3 {
				return false
			}
		}
		return true
	}), 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, n, func() int { c, _ := reg.Counts(); return c }(), "nobody timed out")

	// Kick one, shut one down, close one ourselves.
	kicked, err := reg.Conn("fleet-000")
	require.NoError(t, err)
	require.NoError(t, kicked.Close(protocol.ReasonKicked))
	down, err := reg.Conn("fleet-001")
	require.NoError(t, err)
	require.NoError(t, down.Shutdown("drill"))
	require.NoError(t, sessions[2].Close())
	require.Eventually(t, rec.with(func(r *fleetRecorder) bool { return len(r.closed) == 3 }), 5*time.Second, 10*time.Millisecond)
	rec.mu.Lock()
	assert.ErrorIs(t, rec.closed[0][0], ErrKicked)
	assert.ErrorIs(t, rec.closed[1][0], ErrShutdown)
	assert.Equal(t, "drill", rec.shutdowns[1])
	assert.ErrorIs(t, rec.closed[2][0], ErrClosed)
	rec.mu.Unlock()
	require.Eventually(t, func() bool { r, _ := reg.Get("fleet-001"); return !r.CStatus }, 5*time.Second, 10*time.Millisecond)
	r, _ := reg.Get("fleet-001")
	assert.Equal(t, protocol.ReasonShutdown, r.Reason)

	counts := f.Counts()
	assert.Equal(t, int64(n), counts.Opened)
	assert.Equal(t, int64(n), counts.Registered)
	assert.Equal(t, int64(1), counts.Closed[protocol.ReasonKicked])
	assert.Equal(t, int64(1), counts.Closed[protocol.ReasonShutdown])
	assert.Equal(t, int64(1), counts.Shutdowns)
	assert.Equal(t, int64(1), counts.ClosedLocally)
	assert.GreaterOrEqual(t, counts.KeepAlives, int64(3*n))

	// Closing the fleet ends every other session exactly once.
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Len(t, rec.closed, n)
	for i, errs := range rec.closed {
		require.Len(t, errs, 1, "session %d closed more than once", i)
	}
	assert.Zero(t, f.OpenSessions())
}

func TestFleetCountsServerReasonsAndGarbage(t *testing.T) {
	// Session i gets, after its 140, the i-th line below.
	lines := []string{"190 replaced\n", "190 server full\n", "1x0 noise\n", "190 who knows\n", "100 1\n100 2\n"}
	var mu sync.Mutex
	next := 0
	srv := newScriptedServer(t, afterHandshake("7", func(c *scriptConn) {
		mu.Lock()
		line := lines[next]
		next++
		mu.Unlock()
		c.send(line)
		c.waitEOF()
	}))
	rec := newFleetRecorder()
	f, err := NewFleet(FleetConfig{Addr: srv.addr(), Password: realPassword, EventLoops: 1, Events: rec.events()})
	require.NoError(t, err)
	defer f.Close()
	for i := range lines {
		_, err := f.Open(context.Background(), i, fmt.Sprintf("g-%d", i))
		require.NoError(t, err)
		// one at a time, so that session i meets line i
		require.Eventually(t, rec.with(func(r *fleetRecorder) bool { return len(r.registered) == i+1 }), 5*time.Second, time.Millisecond)
	}
	require.Eventually(t, func() bool { c := f.Counts(); return c.KeepAlives == 2 && len(c.Closed)+int(c.BadServer) >= 4 },
		5*time.Second, 5*time.Millisecond)
	c := f.Counts()
	assert.Equal(t, int64(1), c.Closed[protocol.ReasonReplaced])
	assert.Equal(t, int64(1), c.Closed[protocol.ReasonServerFull])
	assert.Equal(t, int64(1), c.Closed[protocol.ReasonNone], "unknown 190 text")
	assert.Equal(t, int64(1), c.BadServer)
	require.NoError(t, f.Close())
	assert.Equal(t, int64(1), f.Counts().ClosedLocally)
}

func TestFleetConfigErrors(t *testing.T) {
	_, err := NewFleet(FleetConfig{Password: "p"})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = NewFleet(FleetConfig{Addr: "127.0.0.1:1"})
	assert.ErrorIs(t, err, ErrConfig)
	f, err := NewFleet(FleetConfig{Addr: "127.0.0.1:1", Password: "p", EventLoops: 1})
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Open(context.Background(), 0, "bad id")
	assert.ErrorIs(t, err, ErrConfig)
}

// A Close while Opens dial: each Open returns (a session, or ErrClosed)
// and each session it returned gets its one Closed. An Open whose dial
// outlasted the check before it handed its socket to loops that had
// stopped, and waited for them forever (found by an audit). Each round
// closes after a few Opens went through, so some are mid-dial then.
func TestFleetCloseWhileOpening(t *testing.T) {
	srv := startReactor(t, registry.New(), "127.0.0.1:0")
	for round := range 10 {
		rec := newFleetRecorder()
		f := newTestFleet(t, srv.Addr(), rec.events())
		var wg sync.WaitGroup
		var opened atomic.Int32
		through := make(chan struct{}, 20)
		for i := range 20 {
			wg.Go(func() {
				if _, err := f.Open(context.Background(), i, fmt.Sprintf("race-%d-%d", round, i)); err == nil {
					opened.Add(1)
				} else {
					assert.ErrorIs(t, err, ErrClosed)
				}
				through <- struct{}{}
			})
		}
		for range round % 5 {
			<-through
		}
		require.NoError(t, f.Close())
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: an Open still waits after Close", round)
		}
		require.Eventually(t, rec.with(func(r *fleetRecorder) bool { return len(r.closed) == int(opened.Load()) }),
			5*time.Second, 5*time.Millisecond, "round %d: a Closed for each session Open returned", round)
		rec.mu.Lock()
		for i, errs := range rec.closed {
			assert.Len(t, errs, 1, "round %d, session %d: one Closed", round, i)
		}
		rec.mu.Unlock()
		assert.Zero(t, f.OpenSessions())
	}
}
