package reactor

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/internal/secretset"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// Server serves the wire protocol on gnet event loops and feeds one registry.
type Server struct {
	opts  options
	reg   *registry.Registry
	auth  secretset.Set // swapped by SetPasswords
	guard *ipGuard
	log   *zap.Logger
	// refusals logs connections refused before registering, sampled.
	refusals *refusalLog
	epoch    time.Time

	ctx    context.Context // lives until Stop; passed to Execute
	cancel context.CancelFunc

	eng     gnet.Engine
	addr    string
	booted  chan struct{}
	done    chan error    // gnet.Run's result
	stopped chan struct{} // closed once gnet.Run returned: no loop runs a task any more

	started  atomic.Bool
	draining atomic.Bool
	conns    atomic.Int64 // open TCP connections
	// untold counts the sessions the engine's stop closed before their
	// loop told them "190 server shutting down" (handler.OnClose): what a
	// drain cut short really left open.
	untold  atomic.Int64
	ceiling ceiling // says when conns reaches --max-connections (ceiling.go)
	// ceil is the connection ceiling in force: --max-connections, or less
	// while the open-files limit is lowered under the process (fdlimit.go).
	ceil    atomic.Int64
	fullLog loggate.Gate // spaces the registry-full warnings (register.go)
	full    fullRegistry // the registry's refusals, for its note (fullregistry.go)
	// ordersOut counts the 130 orders out and not yet acked, nor closed
	// unacked; none out releases every loop's held closes (held.go).
	ordersOut atomic.Int64

	loopsMu sync.Mutex              // serialises adding a loop
	loops   atomic.Pointer[[]*loop] // copied on write: read with no lock or allocation

	lastPrune int64 // ticker goroutine only
	lastLimit int64 // when the ticker last read the open-files limit; ticker goroutine only

	// engineDown: gnet's engine stopped or is stopping (engine.go).
	engineDown atomic.Bool
}

// New makes a server that registers clients in reg. It fails with
// ErrNoRegistry for a nil reg, ErrNoPassword when no password is given
// and identity does not require credentials, and ErrBadOption for an
// option out of range.
func New(reg *registry.Registry, opts ...Option) (*Server, error) {
	if reg == nil {
		return nil, ErrNoRegistry
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{
		opts:     o,
		reg:      reg,
		guard:    newIPGuard(o.authFailLimit, int64(o.authFailWindow), o.maxPendingPerIP, o.ipv6GuardBits),
		log:      o.logger,
		refusals: newRefusalLog(o.logger, o.refusalLogEvery),
		epoch:    time.Now(),
		ctx:      ctx,
		cancel:   cancel,
		booted:   make(chan struct{}),
		done:     make(chan error, 1),
		stopped:  make(chan struct{}),
	}
	srv.auth.Replace(o.passwords)
	srv.ceil.Store(int64(o.maxConns))
	return srv, nil
}

// Start listens and serves in the background; it returns once the listener
// is bound (or failed). Safe to call once, from any goroutine.
func (srv *Server) Start() error {
	if !srv.started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	addr, err := pinAddr(srv.opts.addr)
	if err != nil {
		close(srv.stopped)
		return err
	}
	h := &handler{Server: srv}
	go func() {
		defer close(srv.stopped)
		srv.done <- gnet.Run(h, "tcp://"+addr,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(srv.opts.loops),
			gnet.WithTicker(true),
			// One listener per loop, each accepting for itself and
			// opening (or refusing) what it accepted before it accepts
			// again: so accepted-but-unopened connections never pile up
			// and the descriptor reserve bounds them. gnet's shared
			// acceptor could run a thousand accepts ahead of the loops
			// under a connect flood, reach EMFILE, and stop the engine.
			gnet.WithReusePort(true),
			// The server closes first after a 190, so its side of those
			// connections sits in TIME_WAIT on the listening port; without
			// SO_REUSEADDR a restart could not bind it for a minute.
			gnet.WithReuseAddr(true),
			gnet.WithLogger(srv.log.WithOptions(zap.AddCallerSkip(1)).Sugar().Named("gnet")),
		)
	}()
	select {
	case <-srv.booted:
		srv.log.Info("listening", zap.String("addr", srv.addr), zap.Int("loops", srv.opts.loops),
			zap.Duration("keepalive_interval", srv.opts.keepInterval),
			zap.Duration("keepalive_timeout", srv.opts.keepTimeout),
			zap.Duration("handshake_timeout", srv.opts.handshakeTimeout),
			zap.Int("max_connections", srv.opts.maxConns))
		return nil
	case err := <-srv.done:
		srv.done <- err
		return err
	}
}

// Addr is the address the server listens on, with the real port when it
// was asked for port 0. Safe from any goroutine after Start.
func (srv *Server) Addr() string { return srv.addr }

// Ready reports whether the server accepts clients: started, not draining
// and its engine alive. Safe from any goroutine.
func (srv *Server) Ready() bool {
	select {
	case <-srv.booted:
		return !srv.draining.Load() && !srv.engineDown.Load()
	default:
		return false
	}
}

// Connections returns the open TCP connections, handshaking ones included.
// Safe from any goroutine.
func (srv *Server) Connections() int { return int(srv.conns.Load()) }

// Stop drains and stops the server: new connections are refused with "190
// server shutting down", every open one is told the same and closed, and
// the event loops stop. It returns when all are closed or ctx ends, after
// which it stops the loops anyway. Safe from any goroutine; the registry's
// final flush is the caller's.
func (srv *Server) Stop(ctx context.Context) error {
	select {
	case <-srv.booted:
	default:
		return ErrNotStarted
	}
	srv.draining.Store(true)
	// Not onEveryLoop: what Stop waits for is the connections' close,
	// which ctx bounds; waiting for the tasks first would not be bounded.
	// Execute fails only on an engine already shut down, which left no
	// connection to tell.
	for _, lp := range srv.loopList() {
		_ = lp.el.Execute(srv.ctx, gnet.RunnableFunc(func(context.Context) error {
			lp.wheel.each(func(s *session) { s.fail(protocol.ReasonServerShuttingDown) })
			lp.closeHeld(len(lp.held))
			return nil
		}))
	}
	drained := srv.waitDrained(ctx)
	srv.cancel()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.eng.Stop(stopCtx)
	if err == nil {
		err = <-srv.done
	} else {
		// Loops still running would call into what the caller closes
		// next (the registry's flush, the stores): a while more for them.
		select {
		case <-srv.done:
		case <-time.After(5 * time.Second):
		}
	}
	srv.refusals.flush(time.Now(), true) // the ticker no longer runs
	if err != nil {
		return err
	}
	// A drain cut short (a second signal, --shutdown-timeout) counted the
	// connections open when it was cut, most of them already told and
	// only waiting for their close: the stop then failed, exit status 1,
	// "drain ended with 300 connections still open", after every client
	// had its "190 server shutting down". What counts is whom the
	// engine's stop closed untold.
	if drained != nil {
		if n := srv.untold.Load(); n > 0 {
			return fmt.Errorf("drain ended with %d connections not yet told `190 server shutting down`: %w", n, ctx.Err())
		}
		// Not a failure, but not a drain that finished either: said
		// once, so a stop cut by --shutdown-timeout does not pass for
		// one that finished (it left no line at all).
		srv.log.Warn("drain cut short: the connections still closing were dropped, each already told `190 server shutting down`",
			zap.NamedError("drain", drained))
	}
	return nil
}

// waitDrained polls until no connection is open or ctx ends.
func (srv *Server) waitDrained(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for srv.conns.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain ended with %d connections still open: %w", srv.conns.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// loopOf returns the reactor's state for el, made on first use. Called on
// el's loop from OnOpen. The list is read on every accept and, by the
// ticker, every tick, and changes once per loop: a copy-on-write slice
// spares both a lock and the ticker a copy each millisecond.
func (srv *Server) loopOf(el gnet.EventLoop) *loop {
	if lp := findLoop(srv.loopList(), el); lp != nil {
		return lp
	}
	srv.loopsMu.Lock()
	defer srv.loopsMu.Unlock()
	old := srv.loopList()
	if lp := findLoop(old, el); lp != nil {
		return lp
	}
	lp := newLoop(srv, el)
	grown := append(old[:len(old):len(old)], lp)
	srv.loops.Store(&grown)
	return lp
}

func findLoop(loops []*loop, el gnet.EventLoop) *loop {
	for _, lp := range loops {
		if lp.el == el {
			return lp
		}
	}
	return nil
}

// loopList is every loop that has had a connection. The slice is shared:
// callers must not modify it. Safe from any goroutine.
func (srv *Server) loopList() []*loop {
	if p := srv.loops.Load(); p != nil {
		return *p
	}
	return nil
}

// BoundAddr asks the kernel which address eng's listener got, so a server
// started on port 0 can say where it listens ("" when it cannot tell).
// The benchmark's floor server uses it too.
func BoundAddr(eng gnet.Engine) string {
	fd, err := eng.Dup()
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return ""
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return ""
}
