package load

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliser/cliser/protocol"
)

// Engine is a fleet of clients. Its methods are safe from any goroutine,
// except that Ramp calls must not overlap.
type Engine struct {
	cfg Config
	ep  *epollState

	c    counters
	errs errorCounts
	hs   *hist // ramp handshakes
	rtt  *hist // probe round trips
	gap  *hist // keep-alive gaps

	probing atomic.Bool
	closing atomic.Bool
	sources int

	mu      sync.Mutex
	clients int            // made so far; the next client's index
	wg      sync.WaitGroup // clients not ended yet
}

// New makes an idle fleet; Ramp opens its clients.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, hs: newHist(), rtt: newHist(), gap: newHist()}
	var srcs []net.IP
	for _, ip := range cfg.SourceIPs {
		a := net.ParseIP(ip)
		if a == nil {
			return nil, fmt.Errorf("%w: source address %q is not an IP", ErrConfig, ip)
		}
		srcs = append(srcs, a)
	}
	e.sources = max(len(srcs), 1)
	ep, err := newEpoll(e, cfg.Addr, srcs, cfg.Loops)
	if err != nil {
		return nil, err
	}
	e.ep = ep
	return e, nil
}

// Ramp opens clients until the fleet has made target of them, at rate new
// connections a second (0: as fast as Concurrency allows), and returns when
// every one of them has registered or failed, or ctx ends. Failures are
// counted in Stats, not returned.
func (e *Engine) Ramp(ctx context.Context, target int, rate float64) error {
	e.mu.Lock()
	first := e.clients
	e.mu.Unlock()
	sem := make(chan struct{}, e.cfg.Concurrency)
	var pending sync.WaitGroup
	start := time.Now()
	for i := 0; first+i < target; i++ {
		if rate > 0 {
			if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
				if err := sleep(ctx, wait); err != nil {
					return err
				}
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if e.closing.Load() {
			<-sem
			break
		}
		c := e.newClient()
		pending.Add(1)
		e.wg.Add(1)
		e.c.started.Add(1)
		go e.ep.dial(c, true, func() { <-sem; pending.Done() })
	}
	finished := make(chan struct{})
	go func() { pending.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) newClient() *client {
	e.mu.Lock()
	idx := e.clients
	e.clients++
	e.mu.Unlock()
	id := e.cfg.IDPrefix + strconv.Itoa(e.cfg.FirstIndex+idx)
	pw := e.cfg.Password
	if e.cfg.SecretKey != "" {
		pw = Secret(e.cfg.SecretKey, id)
	}
	answers, _ := protocol.AppendPasswordAnswer(nil, []byte(pw))
	answers, _ = protocol.AppendIDAnswer(answers, []byte(id))
	return &client{e: e, idx: idx, probe: idx < e.cfg.Probes, answers: answers, src: idx % e.sources}
}

// SetProbing turns the probes' round-trip measurement on or off. Off, a
// probe is an ordinary client (a harness turns probes off before it orders
// a shutdown, so that every client is registered to receive it).
func (e *Engine) SetProbing(on bool) { e.probing.Store(on) }

// Stats returns the totals and histograms so far.
func (e *Engine) Stats() Stats {
	s := e.Counts()
	s.Handshake, s.ProbeRTT, s.KeepAliveGap = e.hs.snapshot(), e.rtt.snapshot(), e.gap.snapshot()
	return s
}

// Counts returns the totals without the histograms: cheap enough to poll
// for progress (a histogram snapshot is tens of thousands of counters).
func (e *Engine) Counts() Stats {
	fresh := e.c.probesFresh.Load() // before ProbesPending: a realign counts there before it leaves here
	return Stats{
		ProbesFresh:     fresh,
		Started:         e.c.started.Load(),
		Handshakes:      e.c.handshakes.Load(),
		Registered:      e.c.registered.Load(),
		KeepAlives:      e.c.keepAlives.Load(),
		ProbeSamples:    e.c.probeSamples.Load(),
		ProbesPending:   e.c.probesPending.Load(),
		ProbeReconnects: e.c.probeReconnects.Load(),
		ProbePhases:     e.c.phases(),
		ShutdownOrders:  e.c.shutdownOrders.Load(),
		ShutdownAcks:    e.c.shutdownAcks.Load(),
		ClosedAfterAck:  e.c.closedAfterAck.Load(),
		FirstOrder:      e.c.firstOrder.Load(),
		FirstKeepAlive:  e.c.firstKeepAlive.Load(),
		LastAck:         e.c.lastAck.Load(),
		LastClose:       e.c.lastClose.Load(),
		Errors:          e.errs.snapshot(),
	}
}

// Close closes every connection and waits for the client goroutines, up to
// ctx. Reads that fail because of it are not errors.
func (e *Engine) Close(ctx context.Context) error {
	e.closing.Store(true)
	e.ep.closeAll(e)
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		e.ep.stop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
