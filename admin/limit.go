package admin

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/internal/mono"
)

// DefaultMaxConns caps the admin listener's open connections. Idle HTTP
// connections need no token (/healthz), so without a cap anyone who can
// reach the admin port could take every file descriptor the process has,
// and the protocol's next accept would fail. The cap is part of the
// descriptor reserve that `cliser serve` keeps below the open-files limit.
const DefaultMaxConns = 256

// fullLogQuiet is how long after a logged filling further fillings are
// only counted.
const fullLogQuiet = time.Minute

// adminWriteBuffer is each admin connection's kernel send buffer (the
// kernel doubles it). Left to autotuning it grew to 4 MB on a peer that
// does not read, and a write blocks, which makes the connection one to
// close for room (limit_evict.go), only once that much is queued: 256 such
// peers, no token needed, held 1 GB of the host's TCP memory (past
// tcp_mem's pressure mark on a small host, which squeezes the fleet's
// sockets too) and cost the CPU to render it. 256 KiB holds a page of
// 1,000 clients.
const adminWriteBuffer = 128 << 10

// Metric names of the admin listener's cap.
const (
	MetricAdminConnections = "cliser_admin_connections"
	MetricAdminCapReached  = "cliser_admin_connection_cap_reached_total"
)

// WithMaxConns caps the admin listener's open connections at n. A new
// connection past the cap is made room for by closing the one that has
// waited longest for a request (limit_evict.go); while every one is being
// served, it waits, and the ones after it wait in the kernel's accept
// queue (they cost the process no descriptor). n <= 0 leaves the default.
func WithMaxConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConns = n
		}
	}
}

// limit wraps ln with the connection cap (capped.Accept holds at most one
// connection past it, the one waiting for room) and counts what it holds,
// so that a full listener is seen: a gauge of open connections, a counter
// of the times it filled up, and one log line when it fills and once it
// is half empty again (not one per connection of a flood). Fillings
// within fullLogQuiet of a logged one are counted, not logged: a flood's
// queued peers, accepted in waves after they left, fill it again and again.
func (a *API) limit(ln net.Listener) *capped {
	c := &capped{Listener: ln, max: int64(a.opts.maxConns), log: a.opts.log,
		waiting: newWaiting(), fault: newAcceptFault(), freed: make(chan struct{}, 1), done: make(chan struct{}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricAdminConnections,
			Help: "Open connections of the admin listener."}),
		reached: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricAdminCapReached,
			Help: "Times the admin listener reached --admin-max-connections; further connections waited."}),
	}
	return c
}

// adopt makes c the API's listener: its failed accepts are the API's
// health note, and its collectors join the API's metrics, if any.
func (a *API) adopt(c *capped) {
	a.listener.Store(c)
	if a.opts.metrics == nil {
		return
	}
	for _, col := range []prometheus.Collector{c.open, c.reached, c.waiting.evicted, c.fault.count} {
		_ = a.opts.metrics.Registry().Register(col) // a second listener on one Metrics keeps the first's
	}
}

// capped counts the open connections of the capped listener. Safe for
// concurrent use, as net.Listener must be.
type capped struct {
	net.Listener
	max     int64
	n       atomic.Int64
	full    atomic.Bool
	logged  atomic.Bool // this filling's warning was logged
	gate    loggate.Gate
	log     *zap.Logger
	open    prometheus.Gauge
	reached prometheus.Counter
	waiting *waiting      // limit_evict.go
	fault   *acceptFault  // limit_accept.go
	freed   chan struct{} // a connection closed (buffered: one signal is enough)
	done    chan struct{} // the listener closed
	once    sync.Once
}

// Accept takes the next connection from the kernel's queue and holds it
// until the listener has room for it (makeRoom): while it waits, the
// others stay in the queue and cost no descriptor.
func (l *capped) Accept() (net.Conn, error) {
	c, err := l.acceptRetrying()
	if err != nil {
		return nil, err
	}
	if !l.makeRoom() {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(adminWriteBuffer) // fails on a closed socket alone, which Serve finds
	}
	l.open.Inc()
	if l.n.Add(1) >= l.max && l.full.CompareAndSwap(false, true) {
		l.reached.Inc()
		if !l.gate.Open(fullLogQuiet) {
			return &cappedConn{Conn: c, l: l}, nil
		}
		l.logged.Store(true)
		l.log.Warn("admin listener full: a connection that waits for a request, or for its peer to read an answer, is closed to make room for a new one, "+
			"and when none does, new ones wait in the kernel's queue until one closes (see --admin-max-connections)",
			zap.Int64("max_connections", l.max))
	}
	return &cappedConn{Conn: c, l: l}, nil
}

// Close closes the listener and ends an Accept that waits for room.
func (l *capped) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *capped) closed() {
	l.open.Dec()
	if l.n.Add(-1) <= l.max/2 && l.full.CompareAndSwap(true, false) && l.logged.Swap(false) {
		l.log.Info("admin listener has room again", zap.Int64("open", l.n.Load()), zap.Int64("max_connections", l.max))
	}
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

type cappedConn struct {
	net.Conn
	l       *capped
	once    sync.Once
	writing atomic.Int64 // when the Write under way began (mono.Now); 0: none
	reading atomic.Int64 // when a handler began to read the request's body (mono.Now); 0: none
}

// Write marks the time a write waits for its peer to read (limit_evict.go).
func (c *cappedConn) Write(b []byte) (int, error) {
	c.writing.Store(mono.Now())
	n, err := c.Conn.Write(b)
	c.writing.Store(0)
	return n, err
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.closed)
	return err
}
