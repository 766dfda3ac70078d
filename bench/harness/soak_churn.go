package harness

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/protocol"
)

// Churn operations, the keys of SoakResult.Ops.
const (
	OpReconnect = "reconnect" // a pool client closes and connects again under its id
	OpTakeover  = "takeover"  // a second connection registers a pool client's id
	OpFresh     = "fresh"     // a brand-new id connects, registers and leaves
)

// churnConn is one connection of the churn: a goroutine reads it, echoes
// keep-alives and records how it ended. The soak's pool is small (a tenth
// of the clients at most), so a goroutine each is cheap and simple; the
// steady clients live in the load engine.
type churnConn struct {
	nc         net.Conn
	registered chan struct{} // closed at "140 connected"
	ended      chan struct{} // closed when the reader returns
	byUs       atomic.Bool   // we closed it: its end is not an error
	endKind    string        // after ended: "190 <reason>", or an error kind; "" when closed by us
}

// churner runs the churn operations against addr.
type churner struct {
	addr     string
	password string
	dialers  []*net.Dialer
	timeout  time.Duration

	pool  []*poolSlot
	fresh atomic.Int64 // the next brand-new id's number

	mu       sync.Mutex
	ops      map[string]int64
	errs     map[string]int64 // unexpected
	expected map[string]int64 // the 190 replaced of the takeovers
}

type poolSlot struct {
	mu sync.Mutex
	id string
	c  *churnConn
}

func newChurner(addr, password string, sources []string, pool int, timeout time.Duration) *churner {
	ch := &churner{addr: addr, password: password, timeout: timeout,
		ops: map[string]int64{}, errs: map[string]int64{}, expected: map[string]int64{}}
	for _, s := range sources {
		ch.dialers = append(ch.dialers, &net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(s)}})
	}
	if len(ch.dialers) == 0 {
		ch.dialers = []*net.Dialer{{Timeout: timeout}}
	}
	for i := range pool {
		ch.pool = append(ch.pool, &poolSlot{id: "soak-pool-" + strconv.Itoa(i)})
	}
	return ch
}

func (ch *churner) count(m map[string]int64, k string) {
	ch.mu.Lock()
	m[k]++
	ch.mu.Unlock()
}

// connect dials and registers id; on failure it counts the error and
// returns nil.
func (ch *churner) connect(id string) *churnConn {
	nc, err := ch.dialers[rand.IntN(len(ch.dialers))].Dial("tcp", ch.addr)
	if err != nil {
		ch.count(ch.errs, "churn dial: "+err.Error())
		return nil
	}
	answers, _ := protocol.AppendPasswordAnswer(nil, []byte(ch.password))
	answers, _ = protocol.AppendIDAnswer(answers, []byte(id))
	if _, err := nc.Write(answers); err != nil {
		_ = nc.Close()
		ch.count(ch.errs, load.KindWriteError)
		return nil
	}
	c := &churnConn{nc: nc, registered: make(chan struct{}), ended: make(chan struct{})}
	go c.read()
	select {
	case <-c.registered:
		return c
	case <-c.ended:
		ch.count(ch.errs, "churn handshake: "+c.endKind)
		return nil
	case <-time.After(ch.timeout):
		c.close()
		ch.count(ch.errs, load.KindHandshakeTimeout)
		return nil
	}
}

// read serves the connection until it ends.
func (c *churnConn) read() {
	defer close(c.ended)
	r := bufio.NewReaderSize(c.nc, 2*protocol.MaxLine)
	registered := false
	for {
		raw, err := r.ReadSlice('\n')
		if err != nil {
			if c.byUs.Load() {
				return
			}
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
				c.endKind = load.KindEOFHandshake
				if registered {
					c.endKind = load.KindEOFRegistered
				}
			default:
				c.endKind = load.KindReadError
			}
			return
		}
		line, _, _ := protocol.NextLine(raw)
		l, err := protocol.Parse(line)
		if err != nil {
			c.endKind = load.KindGarbage
			c.close()
			return
		}
		switch l.Code {
		case 110, 120:
			// prompts: the answers went out pipelined
		case 140:
			if !registered {
				registered = true
				close(c.registered)
			}
		case 100:
			token, err := protocol.ParseToken(l.Arg)
			if err != nil {
				c.endKind = load.KindGarbage
				c.close()
				return
			}
			if _, err := c.nc.Write(protocol.AppendKeepAlive(nil, token)); err != nil && !c.byUs.Load() {
				c.endKind = load.KindWriteError
				return
			}
		case 190:
			if !c.byUs.Load() {
				c.endKind = "190 " + string(l.Arg)
			}
			_ = c.nc.Close()
			return
		default:
			c.endKind = fmt.Sprintf("%s: %d", load.KindUnexpectedLine, l.Code)
			c.close()
			return
		}
	}
}

// close ends the connection from our side.
func (c *churnConn) close() {
	c.byUs.Store(true)
	_ = c.nc.Close()
}

// fill registers every pool client.
func (ch *churner) fill() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, s := range ch.pool {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.mu.Lock()
			s.c = ch.connect(s.id)
			s.mu.Unlock()
		})
	}
	wg.Wait()
}

// op runs one churn operation of a random kind.
func (ch *churner) op() {
	switch n := rand.IntN(3); {
	case n == 0 && len(ch.pool) > 0:
		ch.reconnect(ch.pool[rand.IntN(len(ch.pool))])
	case n == 1 && len(ch.pool) > 0:
		ch.takeover(ch.pool[rand.IntN(len(ch.pool))])
	default:
		ch.brandNew()
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
	s.c = ch.connect(s.id)
	ch.count(ch.ops, OpReconnect)
}

// takeover registers the slot's id on a second connection; the first must
// be told "190 replaced" and closed.
func (ch *churner) takeover(s *poolSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.c
	s.c = ch.connect(s.id)
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

func (ch *churner) brandNew() {
	id := "soak-new-" + strconv.FormatInt(ch.fresh.Add(1), 10)
	if c := ch.connect(id); c != nil {
		c.close()
		<-c.ended
	}
	ch.count(ch.ops, OpFresh)
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
