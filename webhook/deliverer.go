package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/loggate"
)

// Deliverer sends the event log to one webhook. Run it on a goroutine of
// its own (Begin, when called, goes before); Acked, Disabled, Delivering,
// SetSigner and Collectors are safe from any goroutine.
type Deliverer struct {
	url   string
	where string // the URL without credentials or query, for logs
	log   events.Reader
	// raw is log as a RawReader, when it is one (the single-node log):
	// asserted once here, not at each read, where the assertion's cache
	// is filled only ~1 in 1,000 misses.
	raw   events.RawReader
	bound events.Bounded // log's retention, when it says it (for lag)
	// signer is what the next try signs with; SetSigner swaps it.
	signer atomic.Pointer[Signer]
	cursor Cursor
	client *http.Client
	o      options
	zl     *zap.Logger
	m      *metrics

	// The batch in flight as read and as sent, their buffers reused by
	// the next one (see read and body.go); used by the delivering
	// goroutine only.
	raws   []events.Raw
	rawBuf []byte
	bodies bodyBuf
	macs   *macs
	macsOf *Signer // whose keys macs holds
	direct *direct // nil: a proxy is set in the environment; requests go through client
	tsBuf  []byte

	acked      atomic.Uint64
	delivering atomic.Bool
	disabled   atomic.Bool
	cursorBad  loggate.Episode // the stored cursor's faults; the delivering goroutine's
	unaskedLog loggate.Gate    // spaces unasked's warnings
	health     health
	stopped    context.Context // Run's; ended: stopping, not a lost lease

	// renew is log as a Renewable, when it is one (the cluster's stream);
	// renewed its Renewed as this run of delivery began, and made the
	// stream the cursor counts in, as last checked (againstTheStream).
	// The last two are the delivering goroutine's only.
	renew   events.Renewable
	renewed <-chan struct{}
	made    time.Time
}

// New checks the URL and returns a Deliverer of log's events to it,
// signed by signer, its progress kept in cursor.
func New(rawURL string, log events.Reader, signer *Signer, cursor Cursor, opts ...Option) (*Deliverer, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if signer == nil || signer.Len() == 0 {
		return nil, ErrNoSecret
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	d := &Deliverer{
		url: rawURL, where: shownURL(u),
		log: log, cursor: cursor, o: o,
	}
	d.raw, _ = log.(events.RawReader)
	d.bound, _ = log.(events.Bounded)
	d.renew, _ = log.(events.Renewable)
	d.zl = o.log.With(zap.String("webhook", d.where))
	d.storeSigner(signer)
	d.client = &http.Client{
		Timeout: o.timeout,
		// A redirect is answered to us, not followed: the signature and
		// the body must not travel on to wherever a receiver points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     transport(),
	}
	d.direct = newDirect(u, o.timeout)
	d.m = newMetrics(d.lag, func() float64 {
		if d.delivering.Load() {
			return 1
		}
		return 0
	})
	return d, nil
}

// SetSigner makes every try from the next one on signed with s's secrets
// (SIGHUP, for a rotation without a restart); a request being retried
// is signed anew at each try anyway. Safe from any goroutine.
func (d *Deliverer) SetSigner(s *Signer) error {
	if s == nil || s.Len() == 0 {
		return ErrNoSecret
	}
	d.storeSigner(s)
	return nil
}

// storeSigner puts s in force, and warns of a key shorter than Standard
// Webhooks recommends: it signs, but is easier to guess.
func (d *Deliverer) storeSigner(s *Signer) {
	d.signer.Store(s)
	if at, bytes := s.short(); len(at) > 0 {
		d.zl.Warn(fmt.Sprintf("webhook: a signing secret's key is under %d bytes; Standard Webhooks asks for 24 to 64 "+
			"random bytes: a short key is easier to guess (make one: openssl rand -base64 32)", minKeyBytes),
			zap.Ints("secret", at), zap.Ints("bytes", bytes), zap.Int("secrets", s.Len()))
	}
}

// transport is net/http's default with a write buffer that holds a whole
// batch of the default size (100 events, ~30 KB): its headers and body go
// out in one write, not in 4 KB pieces, each a system call and, on
// loopback, the receiver's TCP work charged to this process.
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.WriteBufferSize = 64 << 10
	return t
}

// CheckURL is nil when rawURL is one New accepts: absolute, http or
// https, with a host name and a port to dial (none, or 1 to 65535).
func CheckURL(rawURL string) error {
	_, err := parseURL(rawURL)
	return err
}

// badURL is ErrBadURL with what url.Parse found, in words of its own:
// its error quotes the URL, which may hold a token. An IPv6 zone written
// as it is typed (%eth0), a space in the host and an escape code were
// told only the general rule (odd-input audit).
func badURL(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "invalid URL escape"):
		return fmt.Errorf("%w: a %% in it is not followed by two hex digits (write %% as %%25, an IPv6 zone as [fe80::1%%25eth0])", ErrBadURL)
	case strings.Contains(msg, "invalid control character"):
		return fmt.Errorf("%w: it holds a control character (percent-encode it)", ErrBadURL)
	case strings.Contains(msg, "in host name"):
		return fmt.Errorf("%w: its host name holds a character no host name can (a space, or one of \\ { } | ^ `)", ErrBadURL)
	}
	return ErrBadURL
}

// parseURL refuses what url.Parse takes but no request can reach: a
// host of a port alone ("http://:80/" dialled this machine's port 80)
// and a port of 0 or over 65535 (every try failed, for ever).
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, badURL(err)
	}
	// Each says which rule failed: one text for all said nothing of
	// which (webhook audit).
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: the scheme is %q", ErrBadURL, u.Scheme)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%w: it has no host name", ErrBadURL)
	}
	if p := u.Port(); p != "" {
		// url.Parse lets only digits through.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: port %s is out of range", ErrBadURL, p)
		}
	}
	return u, nil
}

// Collectors are the webhook's Prometheus metrics, for the server's
// registry.
func (d *Deliverer) Collectors() []prometheus.Collector { return d.m.collectors() }

// Acked is the seq of the last event the receiver acknowledged, as this
// node knows it.
func (d *Deliverer) Acked() uint64 { return d.acked.Load() }

// Disabled reports whether a 410 turned the webhook off.
func (d *Deliverer) Disabled() bool { return d.disabled.Load() }

// Delivering reports whether this node delivers now: it holds the lease
// (in a cluster) and has loaded its cursor, so an event appended from now
// on is delivered.
func (d *Deliverer) Delivering() bool { return d.delivering.Load() }

// lag is the events in the log not yet delivered: newest - max(acked,
// oldest - 1). An event that fell out of the log before it was delivered
// is no longer in it (it is counted as dropped once delivery reads past
// it): a receiver failing for long read as more lag than the log keeps.
// A webhook a 410 disabled still has its lag, and it grows with the log.
func (d *Deliverer) lag() float64 {
	if !d.delivering.Load() && !d.disabled.Load() {
		return 0
	}
	return float64(d.behind())
}

// behind is how many events of the log the receiver has not acknowledged
// (lag's count, whether or not this node delivers).
func (d *Deliverer) behind() uint64 {
	newest, done := d.log.Newest(), d.acked.Load()
	if d.bound != nil {
		if oldest := d.bound.Oldest(); oldest > 0 {
			done = max(done, oldest-1)
		}
	}
	if newest <= done {
		return 0
	}
	return newest - done
}

// Run delivers until ctx ends (nil) or the receiver disables the webhook
// (ErrDisabled). With a lease it delivers only while holding it, and a
// 410 keeps the lease held until ctx ends, so no other node delivers.
func (d *Deliverer) Run(ctx context.Context) error {
	d.zl.Info("webhook: delivering the event log",
		zap.Int("batch", d.o.batch), zap.Duration("linger", d.o.linger),
		zap.Int("secrets", d.signer.Load().Len()), zap.Bool("lease", d.o.lease != nil))
	d.stopped = ctx
	for {
		held, release := ctx, func() {}
		if d.o.lease != nil {
			var err error
			held, release, err = d.o.lease.Acquire(ctx)
			if err != nil {
				return nil // ctx ended while waiting
			}
			d.zl.Info("webhook: this node delivers now (holds the lease)")
		}
		err := d.deliver(held)
		if errors.Is(err, ErrDisabled) && d.o.lease != nil {
			// The 410 turns the cluster's webhook off, not this node's
			// delivery only: keep the lease while this run lives, or the
			// next node would take it and send the receiver that said
			// "gone" the same batch again (once per node).
			go func() { <-held.Done(); release() }()
			return err
		}
		release()
		switch {
		case errors.Is(err, ErrDisabled):
			return err
		case ctx.Err() != nil:
			d.sayStopped()
			return nil
		}
		d.zl.Info("webhook: lease lost; another node delivers")
	}
}

// sayStopped closes the webhook's story in the log at a stop: a receiver
// still failing had its one warning when it began, and nothing said how
// far delivery got (log audit).
func (d *Deliverer) sayStopped() {
	if n := d.behind(); n > 0 {
		d.zl.Warn("webhook: stopped with events the receiver has not acknowledged; they are sent from the cursor "+
			"at the next start (in a cluster, by the node that takes the lease)",
			zap.Uint64("not_acknowledged", n), zap.Uint64("acked_seq", d.acked.Load()))
		return
	}
	d.zl.Info("webhook: stopped; the receiver has acknowledged every event", zap.Uint64("acked_seq", d.acked.Load()))
}

// Begin fixes where a webhook new to its cursor's store starts: after the
// newest event now, said durably at once. serve calls it before it accepts
// clients, so that their first events are the webhook's; left to Run, it
// was fixed whenever Run's goroutine first ran, which a busy machine put
// after clients' connects (they were never sent). A cursor that holds a
// state already is left as it is. Call it before Run, not beside it.
func (d *Deliverer) Begin(ctx context.Context) error {
	_, err := d.loadOrBegin(ctx)
	return err
}

// loadOrBegin is the cursor's state; a webhook new to this store starts
// after the newest event at this moment, and says so durably at once: a
// restart before its first event must not move that start later. Of a
// cluster's nodes starting at once, the first to store it fixes it.
func (d *Deliverer) loadOrBegin(ctx context.Context) (State, error) {
	st, found, err := d.cursor.Load(ctx)
	if err != nil || found {
		return st, err
	}
	st, created := State{Acked: d.log.Newest(), Made: d.made}, true
	if s, ok := d.cursor.(starter); ok {
		st, created, err = s.Create(ctx, st)
	} else {
		err = d.cursor.Save(ctx, st)
	}
	if err == nil && created {
		d.zl.Info("webhook: new; delivering the events after the newest one now", zap.Uint64("after", st.Acked))
	}
	return st, err
}

// start loads the cursor (loadOrBegin), retrying until it answers, and
// checks it against the log.
func (d *Deliverer) start(ctx context.Context) (State, error) {
	for n := 1; ; n++ {
		st, err := d.loadOrBegin(ctx)
		if err == nil {
			d.cursorOK()
			if d.renew != nil {
				if st, err = d.againstTheStream(ctx, st); err != nil {
					return State{}, err
				}
			}
			st = d.pastTheLog(ctx, st)
			d.acked.Store(st.Acked)
			return st, nil
		}
		d.cursorFault("read", err)
		if !sleep(ctx, backoff(n, d.o.backoffMin, d.o.backoffMax)) {
			return State{}, ctx.Err()
		}
	}
}

// pastTheLog delivers a single node's log from its start when the cursor
// is past its newest event: the log was begun anew (events.db moved away
// after damage, or found empty) while the cursor kept the old log's seq.
// Left as it was, nothing was sent until the new log passed that seq,
// with no word and a lag of 0. The cluster's stream is checked by
// againstTheStream instead: only its leader knows its newest seq.
func (d *Deliverer) pastTheLog(ctx context.Context, st State) State {
	if d.raw == nil {
		return st
	}
	newest := d.log.Newest()
	if st.Acked <= newest {
		return st
	}
	d.m.cursorErrs.Inc()
	d.zl.Error("webhook: the stored cursor is past the event log's newest event: the log was begun anew "+
		"(events.db moved away or found empty); delivering the new log from its start, whose seqs "+
		"(and webhook-ids) the receiver may have seen before",
		zap.Uint64("cursor_acked", st.Acked), zap.Uint64("newest", newest))
	st = State{}
	d.save(ctx, st)
	return st
}

// againstTheStream checks a cluster's cursor against the stream as its
// leader answers now, waiting for that answer: the stream deleted and
// made again (nats stream rm, then a node's publish or start) counts
// from 1 again, and a cursor of the old stream's seqs sent nothing until
// the new one passed them, with a lag of 0 and no word; once it had, its
// first events were skipped. A cursor of another stream than the one
// there now, or past its newest seq (a cursor of an older build, which
// names no stream), delivers the new stream from its start. Only the
// leader's answer is one: this node's own newest seq may lag behind (its
// tail catching up), and a member of a stream with no leader answers from
// a copy that may too; neither may move the cursor back, and delivery
// could not read the stream meanwhile anyway.
func (d *Deliverer) againstTheStream(ctx context.Context, st State) (State, error) {
	var cur events.Origin
	for n := 1; ; n++ {
		var err error
		if cur, err = d.renew.Current(ctx); err == nil {
			break
		}
		if n == 1 {
			d.zl.Warn("webhook: the event stream does not answer; delivery waits for it, to check the stored cursor against it",
				zap.Error(err))
		}
		if !sleep(ctx, backoff(n, d.o.backoffMin, d.o.backoffMax)) {
			return State{}, ctx.Err()
		}
	}
	select {
	case <-d.renewed:
		// The answer was this node's first of a stream made anew (Current
		// took it): the next run decides, once.
		return State{}, errRenewed
	default:
	}
	d.made = cur.Made
	anew := !st.Made.IsZero() && !st.Made.Equal(cur.Made)
	switch {
	case (anew || st.Acked > cur.Newest) && st != (State{Made: st.Made}):
		d.m.cursorErrs.Inc()
		d.zl.Error("webhook: the stored cursor is of an event stream made before the one there now: the stream "+
			"was deleted and made again (nats stream rm?); delivering the new stream from its start, whose seqs "+
			"(and webhook-ids) the receiver may have seen before",
			zap.Uint64("cursor_acked", st.Acked), zap.Time("cursor_stream_made", st.Made),
			zap.Uint64("newest", cur.Newest), zap.Time("stream_made", cur.Made))
		st = State{}
		d.save(ctx, st)
	case !st.Made.Equal(cur.Made):
		st.Made = cur.Made
		d.save(ctx, st) // names its stream from now on
	}
	return st, nil
}

// goneError is err's *events.GoneError, if any; apart, and nothing
// declared before the nil check, so that a batch read without error
// allocates nothing for the errors.As target.
func goneError(err error) *events.GoneError {
	if err == nil {
		return nil
	}
	var gone *events.GoneError
	if errors.As(err, &gone) {
		return gone
	}
	return nil
}

// skipLost moves past events that fell out of the log before the
// receiver got them: counted, logged, never silent. The caller stores it.
func (d *Deliverer) skipLost(st State, gone *events.GoneError) State {
	lost := uint64(0)
	if gone.Oldest > st.Acked+1 {
		lost = gone.Oldest - 1 - st.Acked
	}
	switch {
	case d.pastAReserve(gone):
		// A log begun anew after a crash goes on after its floor's
		// reserve: some of the seqs skipped never had an event, so
		// the count would be a guess. Said, and counted as a cursor
		// that met a log begun anew, not as dropped events.
		d.m.cursorErrs.Inc()
		d.zl.Error("webhook: the event log was begun anew after a crash (events.db lost): the events after the receiver's "+
			"last acknowledged one, up to at most the floor's seq, are gone with it; how many there were is not known",
			zap.Uint64("acked", st.Acked), zap.Uint64("floor", gone.Oldest-1))
	default:
		d.m.dropped.Add(float64(lost))
		d.zl.Error("webhook: events the receiver had not acknowledged are no longer in the log (dropped by retention, or gone with an events.db put back from a backup); resuming from the oldest kept",
			zap.Uint64("lost", lost), zap.Uint64("acked", st.Acked), zap.Uint64("oldest", gone.Oldest))
	}
	st = State{Acked: gone.Oldest - 1}
	if gone.Oldest == 0 {
		st = State{Acked: 0}
	}
	d.acked.Store(st.Acked)
	return st
}

// pastAReserve: gone's oldest is the first seq of a single node's log
// begun anew from a reserved floor (events.BegunAnew), not exact.
func (d *Deliverer) pastAReserve(gone *events.GoneError) bool {
	l, ok := d.log.(events.Floored)
	if !ok {
		return false
	}
	after, exact, anew := l.BegunAnew()
	return anew && !exact && gone.Oldest == after+1
}

// save stores st, of the stream last checked, and reports whether it
// did. A failure is logged once and counted, but not one cut short by a
// stop or a lost lease (a timeout is a failure); delivery goes on (at
// worst a restart sends again what was acknowledged since).
func (d *Deliverer) save(ctx context.Context, st State) bool {
	st.Made = d.made
	if err := d.cursor.Save(ctx, st); err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) {
			d.cursorFault("written", err)
		}
		return false
	}
	d.cursorOK()
	return true
}

func (d *Deliverer) cursorFault(op string, err error) {
	d.m.cursorErrs.Inc()
	d.health.cursor(fmt.Errorf("%s: %w", op, err))
	if d.cursorBad.Fail() {
		d.zl.Error("webhook: the stored cursor can not be "+op+"; retrying (a restart may send acknowledged events again)", zap.Error(err))
	}
}

func (d *Deliverer) cursorOK() {
	d.health.cursor(nil)
	if d.cursorBad.OK() {
		d.zl.Info("webhook: the stored cursor works again")
	}
}

// sleep waits for d or ctx; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
