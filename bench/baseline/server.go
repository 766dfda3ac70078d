package baseline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// Server is the baseline server: one manager goroutine, and a reader and a
// writer goroutine per connection.
type Server struct {
	reg       *registry.Registry
	cfg       Config
	log       *zap.Logger
	passwords passwordSet

	mailbox chan event    // the manager's mailbox
	quit    chan struct{} // closed when the manager has returned

	mu      sync.Mutex // guards the lifecycle fields below
	started bool
	ln      net.Listener
	addr    string

	acceptWG sync.WaitGroup
	connWG   sync.WaitGroup // every reader and writer goroutine

	stopOnce sync.Once
	stopErr  error

	liveMu sync.Mutex
	live   map[*conn]struct{} // sockets not yet closed, for a forced stop

	// Manager-owned; only the manager goroutine touches these.
	conns    map[*conn]struct{} // sessions not yet decided closed
	stopping bool
}

// New makes a server that registers its clients in reg. It does not listen
// until Start. Not safe for concurrent use with Start.
func New(reg *registry.Registry, cfg Config) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		reg:       reg,
		cfg:       cfg,
		log:       cfg.Logger,
		passwords: newPasswordSet(cfg.Passwords),
		mailbox:   make(chan event, mailboxSize),
		quit:      make(chan struct{}),
		live:      make(map[*conn]struct{}),
		conns:     make(map[*conn]struct{}),
	}
}

// Start checks the configuration, listens, and starts the manager and the
// accept loop. It returns once the server is listening, so Addr is valid
// afterwards. Call it once.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	if err := s.cfg.validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("baseline: listen: %w", err)
	}
	s.ln, s.addr, s.started = ln, ln.Addr().String(), true
	go s.manage()
	s.acceptWG.Add(1)
	go s.acceptLoop(ln)
	s.log.Info("baseline server listening", zap.String("addr", s.addr))
	return nil
}

// Addr is the address the server listens on (the real port when the
// configured one was 0), or "" before Start. Safe from any goroutine.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ShutdownAll sends "130 shutdown[ <text>]" to every registered client that
// has not been sent one yet, and returns how many it was sent to. A client
// that answers "130 ok", or stays silent for a keep-alive timeout, is then
// closed with reason shutdown. Safe from any goroutine.
func (s *Server) ShutdownAll(text string) int {
	if !s.isStarted() {
		return 0
	}
	reply := make(chan int, 1)
	if s.post(event{kind: evShutdownAll, text: text, reply: reply}) != nil {
		return 0
	}
	select {
	case n := <-reply:
		return n
	case <-s.quit:
		return 0
	}
}

// Stop stops accepting, sends "190 server shutting down" to every
// connection, and waits until every connection's goroutines have ended.
// When ctx ends first it closes the remaining sockets outright and returns
// ctx's error. Safe from any goroutine; later calls wait for the first and
// return its result.
func (s *Server) Stop(ctx context.Context) error {
	if !s.isStarted() {
		return nil
	}
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	_ = s.ln.Close()
	s.acceptWG.Wait() // every accepted socket is in the mailbox before the stop
	reply := make(chan int, 1)
	s.mailbox <- event{kind: evStop, reply: reply}
	<-reply
	var err error
	if !waitGroupUntil(ctx, &s.connWG) {
		err = ctx.Err()
		s.closeLive()
		s.connWG.Wait()
	}
	s.mailbox <- event{kind: evQuit}
	<-s.quit
	s.log.Info("baseline server stopped", zap.String("addr", s.addr))
	return err
}

func (s *Server) isStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// post puts ev in the manager's mailbox, waiting while it is full (the
// design's back-pressure). It fails only once the manager has returned.
func (s *Server) post(ev event) error {
	select {
	case <-s.quit:
		return ErrServerStopped
	default:
	}
	select {
	case s.mailbox <- ev:
		return nil
	case <-s.quit:
		return ErrServerStopped
	}
}

// acceptLoop hands each accepted socket to the manager. Like net/http it
// backs off on transient errors (such as running out of file descriptors)
// instead of spinning.
func (s *Server) acceptLoop(ln net.Listener) {
	defer s.acceptWG.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; backing off", zap.Error(err), zap.Duration("delay", delay))
			time.Sleep(delay)
			continue
		}
		delay = 0
		if s.post(event{kind: evAccept, nc: nc}) != nil {
			_ = nc.Close()
			return
		}
	}
}

func (s *Server) track(c *conn) {
	s.liveMu.Lock()
	s.live[c] = struct{}{}
	s.liveMu.Unlock()
}

func (s *Server) untrack(c *conn) {
	s.liveMu.Lock()
	delete(s.live, c)
	s.liveMu.Unlock()
}

// liveCount is the number of sockets not yet closed, this one included;
// closing ones count until their socket is gone.
func (s *Server) liveCount() int {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return len(s.live)
}

// closeLive closes every socket still open, for a stop whose context ended.
func (s *Server) closeLive() {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	for c := range s.live {
		_ = c.nc.Close()
	}
}

// waitGroupUntil waits for wg, or for ctx to end; it reports whether wg finished.
func waitGroupUntil(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
