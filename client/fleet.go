package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// Fleet runs many sessions in one process on gnet's client event loops: no
// goroutine per session, only a few loops (one per core by default) that
// read every socket, so an idle session costs its socket and a small
// struct. It is the engine for load generation: it opens sessions with the
// pipelined handshake, answers keep-alives and shutdown orders, and reports
// each step with a timestamp through FleetEvents, so the caller measures
// (handshake latency = Registered's at - Session.DialStart()).
//
// A Fleet does not reconnect and sets no deadlines of its own (gnet has
// none): a load generator must see the server's behaviour, not hide it.
//
// Every exported method of Fleet is safe from any goroutine.
type Fleet struct {
	cfg    FleetConfig
	cli    *gnet.Client
	dialer net.Dialer
	log    *zap.Logger
	secret []byte // cfg.Password, once for every session's errors (session.redact)

	mu        sync.Mutex
	sessions  map[*Session]struct{} // open ones, for Close
	closing   bool
	enrolling sync.WaitGroup // Opens handing a socket to the loops: Close stops them after

	counts fleetCounters
}

// FleetConfig configures a Fleet.
type FleetConfig struct {
	// Addr is the server's "host:port". Required.
	Addr string
	// Password is answered to 110 by every session. Required.
	Password string
	// EventLoops is the number of gnet loops. Default runtime.NumCPU().
	EventLoops int
	// DialTimeout bounds each TCP connect. Default 10s.
	DialTimeout time.Duration
	// Logger receives gnet's own logs and the fleet's warnings; nil means none.
	Logger *zap.Logger
	// Events are the callbacks; any may be nil.
	Events FleetEvents
}

// FleetEvents are the Fleet's callbacks. They run on a gnet event loop: they
// must be quick and must not block (hand heavy work to another goroutine),
// since one loop serves thousands of sessions. Calls for one session come
// in order, from one loop; calls for different sessions may be concurrent.
type FleetEvents struct {
	// Registered: "140 connected <sid>" arrived at at.
	Registered func(s *Session, sid uint16, at time.Time)
	// KeepAlive: "100 <token>" arrived at at; the echo is already written.
	// The server->client->server round trip is only visible to the server;
	// a bench pairs these receive times with the server's send times (or
	// its metrics) to estimate it.
	KeepAlive func(s *Session, token uint64, at time.Time)
	// Shutdown: "130 shutdown[ <text>]" arrived at at; "130 ok" is already
	// written.
	Shutdown func(s *Session, text string, at time.Time)
	// Closed: the session ended, with the same causes as Conn.Wait (a
	// *ClosedError for 190 or an acked shutdown, ErrClosed, a *ServerError,
	// or ErrConnLost). Called exactly once per session that Open returned.
	Closed func(s *Session, err error, at time.Time)
}

// NewFleet starts the event loops. Close stops them.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Addr == "" {
		return nil, configError("no server address")
	}
	if protocol.ValidatePassword([]byte(cfg.Password)) != nil {
		return nil, configError("password must be 1 to %d bytes without CR, LF or NUL", protocol.MaxPassword)
	}
	if cfg.EventLoops <= 0 {
		cfg.EventLoops = runtime.NumCPU()
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	f := &Fleet{
		cfg:      cfg,
		dialer:   net.Dialer{Timeout: cfg.DialTimeout},
		log:      cfg.Logger,
		secret:   []byte(cfg.Password),
		sessions: make(map[*Session]struct{}),
	}
	cli, err := gnet.NewClient(&fleetHandler{f: f},
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(cfg.EventLoops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(cfg.Logger.WithOptions(zap.AddCallerSkip(1)).Sugar().Named("gnet")),
	)
	if err != nil {
		return nil, err
	}
	if err := cli.Start(); err != nil {
		return nil, err
	}
	f.cli = cli
	return f, nil
}

// Session is one connection of a Fleet. Index and ID are what Open was
// given. Its methods are safe from any goroutine.
type Session struct {
	Index int
	ID    string

	f       *Fleet
	answers []byte // the pipelined handshake, written by OnOpen
	start   time.Time
	gc      atomic.Value // gnet.Conn, set on open
	sid     atomic.Uint32
	closing atomic.Bool

	// owned by the session's event loop
	sess session
	out  []byte
	err  error // terminal error seen in OnTraffic
	// A Write that fails in OnTraffic closes the conn at once: gnet calls
	// OnClose from inside it, which then leaves Closed to OnTraffic, after
	// the read's events (Closed is a session's last call).
	writing, closedInWrite bool
	closeCause             error
}

// Open dials one session, registers it with the loops and sends the
// pipelined handshake at once. It returns when the TCP connection is
// open; Registered (or Closed) reports how the handshake ends. index is
// the caller's tag, given back as Session.Index.
func (f *Fleet) Open(ctx context.Context, index int, id string) (*Session, error) {
	answers, err := handshakeAnswers(f.secret, []byte(id))
	if err != nil {
		return nil, configError("id %q: %v", id, err)
	}
	s := &Session{Index: index, ID: id, f: f, answers: answers}
	s.sess.secret = f.secret
	if f.isClosing() {
		return nil, ErrClosed
	}
	s.start = time.Now()
	nc, err := f.dialer.DialContext(ctx, "tcp", f.cfg.Addr)
	if err != nil {
		f.counts.dialFailed.Add(1)
		return nil, fmt.Errorf("%w %s: %w", ErrDial, f.cfg.Addr, err)
	}
	// A Close during the dial: loops that stopped would never take nc,
	// and the enroll would wait for them forever.
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		_ = nc.Close()
		return nil, ErrClosed
	}
	f.sessions[s] = struct{}{}
	f.enrolling.Add(1)
	f.mu.Unlock()
	defer f.enrolling.Done()
	// Enroll dups the socket into the loop and closes nc.
	if _, err := f.cli.EnrollContext(nc, s); err != nil {
		f.forget(s)
		f.counts.dialFailed.Add(1)
		return nil, fmt.Errorf("client: enroll: %w", err)
	}
	return s, nil
}

// DialStart is when Open began to dial.
func (s *Session) DialStart() time.Time { return s.start }

// SID is the session id, 0 before Registered.
func (s *Session) SID() uint16 { return uint16(s.sid.Load()) }

// Close closes the session from the client's side; Closed follows with
// ErrClosed (unless another cause came first).
func (s *Session) Close() error {
	s.closing.Store(true)
	if c, ok := s.gc.Load().(gnet.Conn); ok {
		return c.Close()
	}
	return nil
}

// Close closes every session (each gets its Closed call) and stops the
// loops. Safe to call more than once.
func (f *Fleet) Close() error {
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return nil
	}
	f.closing = true
	open := make([]*Session, 0, len(f.sessions))
	for s := range f.sessions {
		open = append(open, s)
	}
	f.mu.Unlock()
	for _, s := range open {
		_ = s.Close()
	}
	f.enrolling.Wait()
	// Stop closes what is left on the loops, with OnClose for each.
	return f.cli.Stop()
}

func (f *Fleet) isClosing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closing
}

func (f *Fleet) forget(s *Session) {
	f.mu.Lock()
	delete(f.sessions, s)
	f.mu.Unlock()
}

// OpenSessions returns how many sessions have not ended yet.
func (f *Fleet) OpenSessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// fleetHandler is the gnet side of a Fleet: everything here runs on a loop.
type fleetHandler struct {
	gnet.BuiltinEventEngine
	f *Fleet
}

func (h *fleetHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	s := c.Context().(*Session)
	s.gc.Store(c)
	h.f.counts.opened.Add(1)
	answers := s.answers
	s.answers = nil // written once; an idle session should not keep it
	return answers, gnet.None
}

func (h *fleetHandler) OnTraffic(c gnet.Conn) gnet.Action {
	s := c.Context().(*Session)
	in, _ := c.Peek(-1)
	at := time.Now()
	var events [4]sessionEvent
	evs := events[:0]
	emit := func(ev sessionEvent) { evs = append(evs, ev) }
	s.out = s.out[:0]
	total := 0
	var err error
	for {
		var used int
		used, s.out, err = s.sess.consume(in[total:], s.out, emit)
		total += used
		if err != nil || used == 0 {
			break
		}
	}
	if total > 0 {
		_, _ = c.Discard(total) // Discard(0) would drop everything
	}
	if len(s.out) > 0 {
		s.writing = true
		_, werr := c.Write(s.out)
		s.writing = false
		if werr != nil && err == nil && !s.closedInWrite {
			err = fmt.Errorf("%w: %w", ErrConnLost, werr)
		}
	}
	for _, ev := range evs {
		h.dispatch(s, ev, at)
	}
	if cap(s.out) > 4*protocol.MaxLine {
		s.out = nil // a burst grew it; do not keep it per idle session
	}
	if s.closedInWrite {
		s.err = err // a 190 or a bad line read before the write stays the cause
		h.closed(s, s.closeCause)
		return gnet.None
	}
	if err != nil {
		s.err = err
		return gnet.Close
	}
	return gnet.None
}

func (h *fleetHandler) dispatch(s *Session, ev sessionEvent, at time.Time) {
	ev2 := h.f.cfg.Events
	switch ev.kind {
	case evRegistered:
		s.sid.Store(uint32(ev.sid))
		h.f.counts.registered.Add(1)
		if ev2.Registered != nil {
			ev2.Registered(s, ev.sid, at)
		}
	case evKeepAlive:
		h.f.counts.keepAlives.Add(1)
		if ev2.KeepAlive != nil {
			ev2.KeepAlive(s, ev.token, at)
		}
	case evShutdown:
		h.f.counts.shutdowns.Add(1)
		if ev2.Shutdown != nil {
			ev2.Shutdown(s, ev.text, at)
		}
	}
}

func (h *fleetHandler) OnClose(c gnet.Conn, cerr error) gnet.Action {
	s := c.Context().(*Session)
	if s.writing {
		s.closedInWrite, s.closeCause = true, cerr
		return gnet.None
	}
	h.closed(s, cerr)
	return gnet.None
}

// closed reports the end of s, cerr being what gnet closed it with.
func (h *fleetHandler) closed(s *Session, cerr error) {
	err := s.err
	var ce *ClosedError
	switch {
	case errors.As(err, &ce) || isServerError(err):
	case s.sess.state == stateShutdownAcked:
		err = s.sess.endCause(nil)
	case s.closing.Load():
		err = ErrClosed
	case err != nil:
	default:
		if cerr == nil {
			cerr = io.EOF
		}
		err = fmt.Errorf("%w: %w", ErrConnLost, cerr)
	}
	h.f.counts.closed(err)
	h.f.forget(s)
	if cb := h.f.cfg.Events.Closed; cb != nil {
		cb(s, err, time.Now())
	}
}

func isServerError(err error) bool {
	var se *ServerError
	return errors.As(err, &se)
}
