package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/protocol"
)

// Event is what Run reports: Connected, Disconnected, Retrying or
// ShutdownOrdered.
type Event interface{ isEvent() }

// Connected: a session is registered.
type Connected struct {
	SID uint16
}

// Disconnected: a session ended, or an attempt failed. Reason is the
// server's 190 reason, protocol.ReasonNone when the server gave none (dial
// error, lost connection, bad server input: see Err).
type Disconnected struct {
	Reason protocol.Reason
	Err    error
}

// Retrying: Run waits In before the next attempt.
type Retrying struct {
	In time.Duration
}

// ShutdownOrdered: the server ordered "130 shutdown" and "130 ok" was
// sent. Run returns nil once the connection has closed.
type ShutdownOrdered struct {
	Text string
}

func (Connected) isEvent()       {}
func (Disconnected) isEvent()    {}
func (Retrying) isEvent()        {}
func (ShutdownOrdered) isEvent() {}

// Run keeps one session with the server alive: it dials, and whenever the
// session ends (or an attempt fails) it waits as Backoff says and dials
// again. It returns nil after a shutdown order has been acked and the
// connection has closed, ctx.Err() when ctx ends (the session is closed
// first), or an error wrapping ErrConfig at once when cfg cannot work.
//
// events, when not nil, is called for each Event in order and never
// concurrently; it must not block for long (a ShutdownOrdered call runs on
// the connection's reader). cfg.OnShutdown is called as for Dial.
//
// Run logs at info level what happens (connecting, registered, disconnected
// and why, retrying in), and at error level when the server rejects the
// password or ID, since that needs an operator. Safe to call from any
// goroutine; each call is its own independent runner.
func Run(ctx context.Context, cfg Config, b Backoff, events func(Event)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	b = b.withDefaults()
	if events == nil {
		events = func(Event) {}
	}
	r := runner{cfg: cfg, b: b, events: events,
		log: cfg.Logger.With(zap.String("server", cfg.Addr), zap.String("cid", cfg.ID))}
	return r.run(ctx)
}

type runner struct {
	cfg    Config
	b      Backoff
	events func(Event)
	log    *zap.Logger

	failures int             // since the last stable session
	replaced int             // replacements in a row
	plainUp  bool            // a session registered without TLS: see fix
	pwFault  loggate.Episode // ReadPassword's: a fault repeats on every attempt
	tlsFault loggate.Episode // ReadTLS's
}

func (r *runner) run(ctx context.Context) error {
	dialCfg := r.cfg
	dialCfg.OnShutdown = func(text string) {
		r.log.Info("shutdown ordered by the server", zap.String("text", text)) // acked, or Conn warned
		r.events(ShutdownOrdered{Text: text})
		if r.cfg.OnShutdown != nil {
			r.cfg.OnShutdown(text)
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.rereadPassword(&dialCfg)
			r.rereadTLS(&dialCfg)
		}
		r.log.Info("connecting")
		registered, err := r.session(ctx, dialCfg)
		if registered {
			r.dropTryNow() // asked while the session was up: nothing to cut short
			r.plainUp = r.plainUp || dialCfg.TLS == nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrShutdown) {
			r.log.Info("session ended after shutdown order")
			return nil
		}
		if errors.Is(err, ErrConfig) {
			return err
		}
		wait := r.next(err)
		r.events(Retrying{In: wait})
		r.log.Info("retrying", zap.Duration("in", wait))
		if err := r.wait(ctx, wait); err != nil {
			return err
		}
	}
}

// dropTryNow empties TryNow.
func (r *runner) dropTryNow() {
	for {
		select {
		case <-r.cfg.TryNow:
		default:
			return
		}
	}
}

// wait sleeps d between attempts, or less when ctx ends (its error) or
// TryNow says to try at once (nil): also when it said so since the
// attempt that failed began.
func (r *runner) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.cfg.TryNow:
		r.log.Info("trying again now, as asked")
	case <-t.C:
	}
	return nil
}

// rereadPassword sets cfg.Password from ReadPassword, when set. A read
// that fails keeps the password cfg has; the failure is logged once.
func (r *runner) rereadPassword(cfg *Config) {
	if r.cfg.ReadPassword == nil {
		return
	}
	source := zap.String("source", r.cfg.PasswordSource)
	pw, err := r.cfg.ReadPassword()
	if err == nil && protocol.ValidatePassword([]byte(pw)) != nil {
		err = fmt.Errorf("not a password: 1 to %d bytes without CR, LF or NUL", protocol.MaxPassword)
	}
	if err != nil {
		if r.pwFault.Fail() {
			r.log.Error("the password cannot be read again; the attempts use the one read before", source, zap.Error(err))
		}
		return
	}
	if r.pwFault.OK() {
		r.log.Info("the password reads again", source)
	}
	if pw != cfg.Password {
		r.log.Info("the password changed; this attempt answers with the new one", source)
		cfg.Password = pw
	}
}

// rereadTLS sets cfg.TLS from ReadTLS, when set. A read that fails keeps
// the config cfg has; the failure is logged once.
func (r *runner) rereadTLS(cfg *Config) {
	if r.cfg.ReadTLS == nil {
		return
	}
	tc, err := r.cfg.ReadTLS()
	if err == nil && tc == nil {
		err = errors.New("no TLS config")
	}
	if err != nil {
		if r.tlsFault.Fail() {
			r.log.Error("the TLS settings cannot be read again; the attempts use the ones read before", zap.Error(err))
		}
		return
	}
	if r.tlsFault.OK() {
		r.log.Info("the TLS settings read again")
	}
	var wasCAs *x509.CertPool
	var wasCerts []tls.Certificate
	if cfg.TLS != nil {
		wasCAs, wasCerts = cfg.TLS.RootCAs, cfg.TLS.Certificates
	}
	if !tc.RootCAs.Equal(wasCAs) {
		r.log.Info("the trusted CAs changed; this attempt verifies with the new ones")
	}
	if !sameLeaf(tc.Certificates, wasCerts) {
		r.log.Info("the client certificate changed; this attempt presents the new one")
	}
	cfg.TLS = tc
}

// sameLeaf reports whether a and b present the same certificate (or none).
func sameLeaf(a, b []tls.Certificate) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	return slices.Equal(a[0].Certificate[0], b[0].Certificate[0])
}

// session dials and holds one session until it ends; it returns whether
// it registered, and why it ended.
func (r *runner) session(ctx context.Context, cfg Config) (bool, error) {
	// Dial starts the reader, which may take a 130 before Dial returns:
	// its ShutdownOrdered waits for Connected, so events keep their order.
	announced := make(chan struct{})
	onShutdown := cfg.OnShutdown
	cfg.OnShutdown = func(text string) { <-announced; onShutdown(text) }
	conn, err := Dial(ctx, cfg)
	if err != nil {
		return false, err
	}
	// Connected before the log line: a reader of the log (the agent's
	// tests, an operator sending SIGHUP) then knows Run's caller knows.
	r.events(Connected{SID: conn.SID()})
	r.log.Info("registered", zap.Uint16("sid", conn.SID()))
	close(announced)
	select {
	case <-conn.Done():
	case <-ctx.Done():
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
		return true, ctx.Err()
	}
	err = conn.Wait()
	if time.Since(conn.ConnectedAt()) >= r.b.StableAfter {
		r.failures = 0
	}
	return true, err
}

// next records a failed attempt or ended session and picks the wait.
func (r *runner) next(err error) time.Duration {
	reason := ReasonOf(err)
	r.events(Disconnected{Reason: reason, Err: err})
	kind := backoffKindOf(reason)
	var wait time.Duration
	switch kind {
	case backoffReplaced:
		wait = r.b.delay(kind, r.replaced)
		r.replaced++
		r.log.Warn("disconnected: replaced by a newer connection with the same id; not fighting back",
			zap.Int("in_a_row", r.replaced), zap.Duration("backoff", wait))
	case backoffLong: // a ban ends no fight over an ID: flapping bans come of one
		wait = r.b.delay(kind, r.failures)
		withCert := r.cfg.TLS != nil && len(r.cfg.TLS.Certificates) > 0
		r.log.Error(rejection(reason, r.cfg.PasswordSource, r.cfg.ReadPassword != nil, withCert, wait),
			zap.Stringer("reason", reason), zap.Duration("backoff", wait), zap.Time("next_try_at", time.Now().Add(wait)))
	default:
		r.replaced = 0
		wait = r.b.delay(kind, r.failures)
		fields := []zap.Field{zap.Error(err)}
		if reason != protocol.ReasonNone {
			fields = append(fields, zap.Stringer("reason", reason))
		}
		if fix := r.fix(err); fix != "" {
			fields = append(fields, zap.String("fix", fix))
		}
		if errors.Is(err, ErrDial) {
			r.log.Warn("could not connect", fields...) // a dial that failed ended no session
		} else {
			r.log.Warn("disconnected", fields...)
		}
	}
	r.failures++
	return wait
}

// fix is the disconnected line's advice for err, "" for none: tlsFix's,
// but for silence at an address where a session registered in the clear
// before, which is no TLS port: "add --tls" sent the reader of a frozen
// server's agent (SIGSTOP, an accept queue never read) after TLS.
func (r *runner) fix(err error) string {
	if r.plainUp && errors.Is(err, errNoPrompt) {
		return "the server took the connection but sent no prompt, where it registered this client " +
			"without TLS before: it is likely stopped, frozen or overloaded; see its log and /readyz"
	}
	return tlsFix(err, r.cfg.TLS)
}
