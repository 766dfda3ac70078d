package floor

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
)

// Config is what the floor runs with; zero durations take cliser's
// defaults.
type Config struct {
	Addr             string // "host:port"; port 0 picks one
	Password         []byte
	KeepAlive        time.Duration
	KeepAliveTimeout time.Duration
	HandshakeTimeout time.Duration
	Loops            int // event loops; 0: one per CPU, as cliser
}

// ErrNoPassword: the floor checks a password like cliser, so it needs one.
var ErrNoPassword = errors.New("floor: no password")

// Server is the floor server. Start, Addr, ShutdownAll and Stop are safe
// from any goroutine.
type Server struct {
	gnet.BuiltinEventEngine
	cfg   Config
	tick  time.Duration
	epoch time.Time

	eng    gnet.Engine
	addr   string
	booted chan struct{}
	done   chan error

	loops sync.Map // gnet.EventLoop → *loop
}

// New checks cfg and makes a server; Start runs it.
func New(cfg Config) (*Server, error) {
	if len(cfg.Password) == 0 {
		return nil, ErrNoPassword
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = reactor.DefaultKeepInterval
	}
	if cfg.KeepAliveTimeout <= 0 {
		cfg.KeepAliveTimeout = reactor.DefaultKeepTimeout
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = reactor.DefaultHandshakeTimeout
	}
	if cfg.Loops <= 0 {
		cfg.Loops = runtime.NumCPU()
	}
	return &Server{cfg: cfg, epoch: time.Now(), booted: make(chan struct{}), done: make(chan error, 1),
		tick: reactor.DefaultTick(cfg.KeepAlive, cfg.KeepAliveTimeout, cfg.HandshakeTimeout)}, nil
}

// Start listens and serves in the background; it returns once the
// listener is bound or failed.
func (s *Server) Start() error {
	go func() {
		// The reactor's engine settings (reactor/server.go Start).
		s.done <- gnet.Run(s, "tcp://"+s.cfg.Addr,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(s.cfg.Loops),
			gnet.WithTicker(true),
			gnet.WithReusePort(true),
			gnet.WithReuseAddr(true),
			gnet.WithLogger(zap.NewNop().Sugar()), // no logs
		)
	}()
	select {
	case <-s.booted:
		return nil
	case err := <-s.done:
		s.done <- err
		return err
	}
}

// Addr is where the server listens, with the real port.
func (s *Server) Addr() string { return s.addr }

// Stop stops the engine; open connections are closed without a word.
func (s *Server) Stop(ctx context.Context) error {
	select {
	case <-s.booted:
	default:
		return errors.New("floor: not started")
	}
	if err := s.eng.Stop(ctx); err != nil {
		return err
	}
	return <-s.done
}

// ShutdownAll sends "130 shutdown <text>" to every registered client, one
// task per loop, and returns how many it was sent to.
func (s *Server) ShutdownAll(text string) int {
	line := protocol.AppendShutdown(nil, text)
	sent := 0
	s.onEachLoop(func(lp *loop) { sent += lp.orderAll(line) })
	return sent
}

// onEachLoop runs f on every loop, one at a time (f needs no lock of its
// own), and returns when each has run it.
func (s *Server) onEachLoop(f func(lp *loop)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	s.loops.Range(func(_, v any) bool {
		lp := v.(*loop)
		wg.Add(1)
		err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			f(lp)
			return nil
		}))
		if err != nil {
			wg.Done()
		}
		return true
	})
	wg.Wait()
}

func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	s.addr = reactor.BoundAddr(eng)
	close(s.booted)
	return gnet.None
}

func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	lp := s.loopOf(gc.EventLoop())
	c := &conn{c: gc, lp: lp}
	gc.SetContext(c)
	lp.hs.push(c, lp.now()+s.cfg.HandshakeTimeout.Nanoseconds())
	return promptPassword, gnet.None
}

func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*conn)
	if c == nil || c.state >= closing {
		_, _ = gc.Discard(-1)
		return gnet.None
	}
	buf, _ := gc.Peek(-1)
	lp := c.lp
	used := c.consume(buf)
	if len(lp.out) > 0 {
		_, _ = gc.Write(lp.out)
		lp.out = lp.out[:0]
	}
	if c.state >= closing {
		return gnet.Close
	}
	if used > 0 {
		_, _ = gc.Discard(used)
	}
	return gnet.None
}

func (s *Server) OnClose(gc gnet.Conn, _ error) gnet.Action {
	if c, _ := gc.Context().(*conn); c != nil {
		c.state = closing // the queues drop it when it reaches their head
	}
	return gnet.None
}

// OnTick asks every loop to run what fell due, as the reactor does.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	s.loops.Range(func(_, v any) bool {
		lp := v.(*loop)
		_ = lp.el.Execute(context.Background(), lp.advance)
		return true
	})
	return s.tick, gnet.None
}

func (s *Server) loopOf(el gnet.EventLoop) *loop {
	if v, ok := s.loops.Load(el); ok {
		return v.(*loop)
	}
	v, _ := s.loops.LoadOrStore(el, newLoop(s, el))
	return v.(*loop)
}

var promptPassword = []byte(protocol.PromptPassword)
