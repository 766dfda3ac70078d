package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// Conn is one registered session with a cliser server. It answers
// keep-alives and a shutdown order by itself, on one reader goroutine per
// connection (there is no writer goroutine: replies are written inline by
// the reader, and only the reader writes).
//
// Every exported method of Conn is safe to call from any goroutine.
type Conn struct {
	nc   net.Conn
	cfg  Config
	log  *zap.Logger
	sess session // owned by Dial, then by the reader goroutine
	// keepAlives counts the 100s answered; owned by the reader goroutine.
	keepAlives int

	buf    []byte // inbound bytes; buf[:have] not yet consumed
	have   int
	heard  bool // a byte came from the server (tlsfix.go)
	out    []byte
	events []sessionEvent

	closing   atomic.Bool
	done      chan struct{}
	err       error // set before done is closed
	closeOnce sync.Once
	connected time.Time
}

// Dial connects to cfg.Addr and runs the pipelined handshake: it writes the
// "110 <password>" and "120 <id>" answers at once, without waiting for the
// prompts, then reads until "140 connected <sid>". It returns a registered
// Conn, or an error: one wrapping ErrConfig (do not retry), a *ClosedError
// when the server refused with 190 (errors.Is(err, ErrAuthFailed), ...),
// one wrapping ErrHandshake, a *ServerError, or a dial error.
//
// ctx bounds the dial and the handshake; it does not bound the session
// (use Close for that). Safe to call from any goroutine.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	answers, err := handshakeAnswers([]byte(cfg.Password), []byte(cfg.ID))
	if err != nil {
		return nil, configError("%v", err)
	}
	nc, err := dial(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // net's "operation was canceled" does not wrap it
		}
		return nil, fmt.Errorf("%w %s: %w", ErrDial, cfg.Addr, err)
	}
	c := &Conn{
		nc:     nc,
		cfg:    cfg,
		log:    cfg.Logger.With(zap.String("server", cfg.Addr), zap.String("cid", cfg.ID)),
		buf:    make([]byte, 2*protocol.MaxLine),
		done:   make(chan struct{}),
		events: make([]sessionEvent, 0, 4),
	}
	c.sess.secret = []byte(cfg.Password)
	if err := c.handshake(ctx, answers); err != nil {
		_ = nc.Close()
		return nil, err
	}
	c.connected = time.Now()
	go c.readLoop()
	return c, nil
}

func dial(ctx context.Context, cfg Config) (net.Conn, error) {
	if cfg.TLS != nil && cfg.DialTimeout > 0 {
		// As tls.Dialer's: the timeout bounds the TLS handshake too.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.DialTimeout)
		defer cancel()
	}
	nd := &net.Dialer{Timeout: cfg.DialTimeout, LocalAddr: cfg.LocalAddr}
	nc, err := nd.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	// Redialling a local server that is down can pick the server's own port
	// as the ephemeral port and "connect" to itself (TCP simultaneous open).
	// Such a socket would hold the port the restarting server needs; so
	// would its TIME_WAIT after a plain close, for a minute (the client's
	// socket has no SO_REUSEADDR): a reset leaves none. Checked before TLS,
	// whose handshake with itself would fail as something else.
	if nc.LocalAddr().String() == nc.RemoteAddr().String() {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = nc.Close()
		return nil, errSelfConnect
	}
	if cfg.TLS == nil {
		return nc, nil
	}
	return tlsClient(ctx, nc, cfg)
}

// tlsClient runs the TLS handshake on nc as tls.Dialer would: the server
// name checked is the dialled host unless the config names one.
func tlsClient(ctx context.Context, nc net.Conn, cfg Config) (net.Conn, error) {
	tc := cfg.TLS
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			host = cfg.Addr
		}
		tc = tc.Clone()
		tc.ServerName = host
	}
	conn := tls.Client(nc, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return conn, nil
}

var errSelfConnect = errors.New("connected to itself (nothing listens there)")

func (c *Conn) handshake(ctx context.Context, answers []byte) error {
	deadline := time.Now().Add(c.cfg.HandshakeTimeout)
	if err := c.nc.SetDeadline(deadline); err != nil {
		return err
	}
	// A cancelled ctx must unblock the read below: a past deadline does.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.nc.Write(answers); err != nil {
		return fmt.Errorf("%w: writing the answers: %w", ErrHandshake, err)
	}
	for c.sess.state == stateHandshaking {
		if err := c.readOnce(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w", ErrHandshake, ctx.Err())
			}
			var ce *ClosedError
			var se *ServerError
			if errors.As(err, &ce) && ce.Reason == protocol.ReasonProtocolError && !c.sess.prompted {
				return fmt.Errorf("%w: %w", errRefusedUnprompted, err)
			}
			if errors.As(err, &ce) || errors.As(err, &se) {
				return err
			}
			if errors.Is(err, errTimeout) {
				err = fmt.Errorf("no connected notice within %v: %w", c.cfg.HandshakeTimeout, os.ErrDeadlineExceeded)
			}
			if !c.heard && c.cfg.TLS == nil {
				err = fmt.Errorf("%w: %w", errNoPrompt, err)
			}
			return fmt.Errorf("%w: %w", ErrHandshake, err)
		}
	}
	if !stop() {
		// ctx ended right as the handshake finished: its deadline may be set.
		return fmt.Errorf("%w: %w", ErrHandshake, ctx.Err())
	}
	return c.nc.SetDeadline(time.Time{})
}

var errTimeout = errors.New("client: read timed out")

// readOnce reads what is there, consumes every complete line, writes the
// replies and then acts on the events, in that order: "130 ok" is on the
// wire before OnShutdown runs.
func (c *Conn) readOnce() error {
	n, rerr := c.nc.Read(c.buf[c.have:])
	if n > 0 && !c.heard {
		c.heard = true
		if c.cfg.TLS == nil && tlsRecord(c.buf[c.have:c.have+n]) {
			return errSpeaksTLS // not lines: an alert to the answers taken for a ClientHello
		}
		if bytes.HasPrefix(c.buf[c.have:c.have+n], []byte("HTTP/")) {
			return errSpeaksHTTP // its 400 to the answers: no cliser line starts so
		}
	}
	c.have += n
	return c.process(rerr)
}

// process consumes the buffered lines, then reports rerr, the error of the
// read that filled the buffer (nil when there was none).
func (c *Conn) process(rerr error) error {
	c.events = c.events[:0]
	used, out, cerr := c.sess.consume(c.buf[:c.have], c.out[:0], func(ev sessionEvent) {
		c.events = append(c.events, ev)
	})
	c.out = out
	c.have = copy(c.buf, c.buf[used:c.have])
	var werr error
	if len(out) > 0 {
		werr = c.write(out)
	}
	for _, ev := range c.events {
		if werr == nil || ev.kind == evShutdown { // an order stands unacked: see OnShutdown
			c.dispatch(ev, werr)
		}
	}
	if werr != nil {
		return werr
	}
	if cerr != nil {
		return cerr
	}
	if rerr != nil {
		var ne net.Error
		if errors.As(rerr, &ne) && ne.Timeout() {
			return fmt.Errorf("%w: %w", errTimeout, rerr)
		}
		return rerr
	}
	return nil
}

func (c *Conn) write(b []byte) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}

// dispatch acts on ev once the lines it answers were written, or their
// write failed with werr.
func (c *Conn) dispatch(ev sessionEvent, werr error) {
	switch ev.kind {
	case evRegistered:
		c.log.Debug("registered", zap.Uint16("sid", ev.sid))
	case evKeepAlive:
		c.keepAlives++
		c.log.Debug("keep-alive answered") // the token stays out of logs
	case evShutdown:
		if werr != nil {
			c.log.Warn("the shutdown order's ack could not be written; the order stands", zap.String("text", ev.text), zap.Error(werr))
		} else {
			c.log.Debug("shutdown ordered, acked", zap.String("text", ev.text))
		}
		// The server closes after the ack; if it does not, we do.
		_ = c.nc.SetReadDeadline(time.Now().Add(c.cfg.ShutdownLinger))
		if c.cfg.OnShutdown != nil {
			c.cfg.OnShutdown(ev.text)
		}
	}
}

func (c *Conn) readLoop() {
	// Lines that came in the same read as the 140 are still buffered.
	err := c.process(nil)
	armed := false
	for err == nil {
		// Every whole line (a keep-alive) moves this on, not a byte: a
		// server trickling a line that never ends is a silent one. After
		// a 130 ack the linger deadline rules instead.
		if c.cfg.IdleTimeout > 0 && c.sess.state == stateRegistered && (!armed || len(c.events) > 0) {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout))
			armed = true
		}
		err = c.readOnce()
	}
	if errors.Is(err, errTimeout) && c.sess.state == stateRegistered {
		err = silentError{idle: c.cfg.IdleTimeout, noKeepAlive: c.keepAlives == 0}
	}
	c.finish(err)
}

// silentError ends a session whose server said nothing for IdleTimeout.
type silentError struct {
	idle        time.Duration
	noKeepAlive bool // none in the whole session
}

func (e silentError) Error() string {
	msg := fmt.Sprintf("client: no line from the server for %v (idle timeout): connection taken as lost", e.idle)
	if e.noKeepAlive {
		// The usual cause, and one that repeats every session: say it.
		msg += fmt.Sprintf("; no keep-alive came since the handshake: if the server's keep-alive interval is %v or more, raise the idle timeout above it", e.idle)
	}
	return msg
}

func (e silentError) Unwrap() []error {
	return []error{ErrServerSilent, ErrConnLost, os.ErrDeadlineExceeded}
}

// finish turns the reader's last error into the session's end cause.
func (c *Conn) finish(err error) {
	var ce *ClosedError
	var se *ServerError
	switch {
	case errors.As(err, &ce), errors.As(err, &se):
		// the server's word, or its bad input: that is the cause
	case c.sess.state == stateShutdownAcked:
		// acked: that is why it ended, whoever closed the socket
		err = c.sess.endCause(err)
	case c.closing.Load():
		err = ErrClosed
	case errors.Is(err, ErrServerSilent):
		// already says it all, ErrConnLost included
	default:
		err = fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	_ = c.nc.Close()
	c.err = err
	c.log.Debug("session ended", zap.Error(err))
	close(c.done)
}

// SID is the session id the server gave in "140 connected <sid>". Safe from
// any goroutine.
func (c *Conn) SID() uint16 { return c.sess.sid }

// ID is the client-id this session registered with. Safe from any goroutine.
func (c *Conn) ID() string { return c.cfg.ID }

// LocalAddr is the client's end of the TCP connection (the server records
// its host and port as cip and cport). Safe from any goroutine.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// ConnectedAt is when the handshake completed. Safe from any goroutine.
func (c *Conn) ConnectedAt() time.Time { return c.connected }

// Done is closed when the session has ended. Safe from any goroutine.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Wait blocks until the session ends and returns why: a *ClosedError for a
// 190 from the server, ErrShutdown (a *ClosedError with Reason
// protocol.ReasonShutdown and the operator's text) after an acked 130,
// ErrClosed after Close, a *ServerError for bad input from the server, or
// an error wrapping ErrConnLost. Safe from any goroutine, any number of
// times.
func (c *Conn) Wait() error {
	<-c.done
	return c.err
}

// Close ends the session from the client's side (the server records
// "closed by client") and waits until the reader goroutine has finished,
// or until ctx ends (then it returns ctx.Err(); the connection is closed
// anyway). Closing twice is fine. Safe from any goroutine, but do not call
// it with an endless ctx from inside OnShutdown: that runs on the reader it
// waits for.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		_ = c.nc.Close()
	})
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
