package harness

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/protocol"
)

// Churn operations, the keys of SoakResult.Ops.
const (
	OpReconnect = "reconnect" // a pool client closes and connects again under its id
	OpTakeover  = "takeover"  // a second connection registers a pool client's id
	OpFresh     = "fresh"     // a brand-new id connects, registers and leaves
)

// churnConn is one connection of the churn: a client.Conn (its reader
// goroutine echoes keep-alives) and how it ended. The soak's pool is small
// (a tenth of the clients at most), so a goroutine each is cheap and
// simple; the steady clients live in the load engine.
type churnConn struct {
	conn    *client.Conn
	ended   chan struct{} // closed once endKind is set
	endKind string        // after ended: "190 <reason>", or an error kind; "" when closed by us
}

// churner runs the churn operations against addr.
type churner struct {
	addr     string
	password string
	sources  []net.Addr // nil entry: the kernel picks
	timeout  time.Duration
	// secret, when set, is a pool id's own 110 answer (FeatureIdentity);
	// admin then enrolls each brand-new id before it connects.
	secret func(id string) string
	admin  *admin.Client
	// evenly takes the pool's slots in turn rather than at random
	// (FeatureFlapping): each id re-registered as seldom as the pool
	// allows, with no busy tail to trip the server's flapping rule.
	evenly bool

	pool    []*poolSlot
	next    atomic.Int64 // with evenly, the next slot's number
	fresh   atomic.Int64 // the next brand-new id's number
	busiest atomic.Int64 // most registrations of one pool id within flapWindow

	mu       sync.Mutex
	ops      map[string]int64
	errs     map[string]int64 // unexpected
	expected map[string]int64 // the 190 replaced of the takeovers
}

type poolSlot struct {
	mu   sync.Mutex
	id   string
	c    *churnConn
	regs []time.Time // its registrations within flapWindow of the newest
}

// poolPrefix starts the pool's client IDs; the index follows.
const poolPrefix = "soak-pool-"

func newChurner(addr, password string, sources []string, pool int, timeout time.Duration) *churner {
	ch := &churner{addr: addr, password: password, timeout: timeout,
		ops: map[string]int64{}, errs: map[string]int64{}, expected: map[string]int64{}}
	for _, s := range sources {
		ch.sources = append(ch.sources, &net.TCPAddr{IP: net.ParseIP(s)})
	}
	if len(ch.sources) == 0 {
		ch.sources = []net.Addr{nil}
	}
	for i := range pool {
		ch.pool = append(ch.pool, &poolSlot{id: poolPrefix + strconv.Itoa(i)})
	}
	return ch
}

func (ch *churner) count(m map[string]int64, k string) {
	ch.mu.Lock()
	m[k]++
	ch.mu.Unlock()
}

// connect dials and registers id with the pool's password; on failure it
// counts the error and returns nil.
func (ch *churner) connect(id string) *churnConn {
	pw := ch.password
	if ch.secret != nil {
		pw = ch.secret(id)
	}
	return ch.connectWith(id, pw)
}

func (ch *churner) connectWith(id, password string) *churnConn {
	ctx, cancel := context.WithTimeout(context.Background(), ch.timeout)
	defer cancel()
	conn, err := client.Dial(ctx, client.Config{Addr: ch.addr, Password: password, ID: id,
		LocalAddr: ch.sources[rand.IntN(len(ch.sources))], DialTimeout: ch.timeout, HandshakeTimeout: ch.timeout})
	if err != nil {
		ch.count(ch.errs, "churn handshake: "+endKind(err, false))
		return nil
	}
	c := &churnConn{conn: conn, ended: make(chan struct{})}
	go func() {
		c.endKind = endKind(conn.Wait(), true)
		close(c.ended)
	}()
	return c
}

// endKind names how a session ended in the load engine's words: "" for
// our own close, "190 <reason>" for the server's, else an error kind.
func endKind(err error, registered bool) string {
	var ce *client.ClosedError
	switch {
	case errors.Is(err, client.ErrClosed):
		return ""
	case errors.As(err, &ce):
		return "190 " + ce.Text
	case errors.Is(err, client.ErrBadServer):
		return load.KindGarbage + ": " + err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return load.KindHandshakeTimeout
	case errors.Is(err, client.ErrHandshake):
		return load.KindEOFHandshake
	case errors.Is(err, client.ErrConnLost) && registered:
		return load.KindEOFRegistered
	}
	return "churn dial: " + err.Error()
}

// close ends the connection from our side.
func (c *churnConn) close() { _ = c.conn.Close(context.Background()) }

// fill registers every pool client.
func (ch *churner) fill() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, s := range ch.pool {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.mu.Lock()
			ch.register(s)
			s.mu.Unlock()
		})
	}
	wg.Wait()
}

// op runs one churn operation of a random kind.
func (ch *churner) op() {
	switch n := rand.IntN(3); {
	case n == 0 && len(ch.pool) > 0:
		ch.reconnect(ch.pick())
	case n == 1 && len(ch.pool) > 0:
		ch.takeover(ch.pick())
	default:
		ch.brandNew()
	}
}

// pick is the pool slot of the next reconnect or takeover.
func (ch *churner) pick() *poolSlot {
	if ch.evenly {
		return ch.pool[int(ch.next.Add(1)-1)%len(ch.pool)]
	}
	return ch.pool[rand.IntN(len(ch.pool))]
}

// register connects the slot's id (its lock held) and, when that
// registered, counts it toward the slot's registrations in the window.
func (ch *churner) register(s *poolSlot) {
	s.c = ch.connect(s.id)
	if s.c == nil {
		return
	}
	now := time.Now()
	s.regs = append(s.regs, now)
	first := 0
	for now.Sub(s.regs[first]) > flapWindow {
		first++
	}
	s.regs = append(s.regs[:0], s.regs[first:]...)
	for n := int64(len(s.regs)); ; {
		b := ch.busiest.Load()
		if n <= b || ch.busiest.CompareAndSwap(b, n) {
			break
		}
	}
}

func (ch *churner) reconnect(s *poolSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.c; old != nil {
		old.close()
		<-old.ended
		ch.noteEnd(old)
	}
	ch.register(s)
	ch.count(ch.ops, OpReconnect)
}

// takeover registers the slot's id on a second connection; the first must
// be told "190 replaced" and closed.
func (ch *churner) takeover(s *poolSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.c
	ch.register(s)
	ch.count(ch.ops, OpTakeover)
	if old == nil {
		return
	}
	if s.c == nil {
		old.close()
		<-old.ended
		return
	}
	select {
	case <-old.ended:
		if old.endKind == "190 "+protocol.ReasonReplaced.String() {
			ch.count(ch.expected, old.endKind)
			return
		}
		ch.count(ch.errs, "takeover: the older connection saw "+orNothing(old.endKind))
	case <-time.After(ch.timeout):
		old.close()
		ch.count(ch.errs, "takeover: the older connection was not closed")
	}
}

// brandNew connects a new id, which leaves at once. With identity on it
// is a device's life in short: enrolled through the admin API, connected
// on its own secret, and its credential deleted once it left.
func (ch *churner) brandNew() {
	id := "soak-new-" + strconv.FormatInt(ch.fresh.Add(1), 10)
	defer ch.count(ch.ops, OpFresh)
	pw := ch.password
	if ch.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ch.timeout)
		defer cancel()
		cred, err := ch.admin.CreateCredential(ctx, id, "")
		if err != nil {
			ch.count(ch.errs, "churn enroll: "+err.Error())
			return
		}
		pw = cred.Secret
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), ch.timeout)
			defer cancel()
			if err := ch.admin.DeleteCredential(dctx, id); err != nil {
				ch.count(ch.errs, "churn delete credential: "+err.Error())
			}
		}()
	}
	if c := ch.connectWith(id, pw); c != nil {
		c.close()
		<-c.ended
	}
}

// noteEnd counts a pool connection that ended before we closed it.
func (ch *churner) noteEnd(c *churnConn) {
	if c.endKind != "" {
		ch.count(ch.errs, "churn: "+c.endKind)
	}
}

// closeAll closes the pool at the end of the soak and counts the pool
// connections that had ended on their own meanwhile.
func (ch *churner) closeAll() {
	for _, s := range ch.pool {
		s.mu.Lock()
		if s.c != nil {
			select {
			case <-s.c.ended:
				ch.noteEnd(s.c)
			default:
				s.c.close()
				<-s.c.ended
			}
			s.c = nil
		}
		s.mu.Unlock()
	}
}

func (ch *churner) snapshot() (ops, errs, expected map[string]int64) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	cp := func(m map[string]int64) map[string]int64 {
		out := make(map[string]int64, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return cp(ch.ops), cp(ch.errs), cp(ch.expected)
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
