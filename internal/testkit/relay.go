package testkit

import (
	"net"
	"sync"
	"testing"
)

// Relay is a TCP relay on 127.0.0.1 to a target that a test can cut and
// heal: a partition between one peer and a server (NATS, say) while the
// others still reach it. Safe for concurrent use.
type Relay struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	cut      bool
	conns    []net.Conn
	held     bool       // what the peers send is kept from the target (SetHeld)
	heldData []byte     // what they sent while held
	silent   Ways       // the ways whose bytes are dropped (SetSilent)
	dropped  int64      // bytes dropped while silent
	changed  *sync.Cond // on mu: held, silent or cut changed
}

// Ways are the directions through a relay.
type Ways uint8

const (
	// ToTarget is what the peers send to the target.
	ToTarget Ways = 1 << iota
	// FromTarget is what the target sends back to the peers.
	FromTarget
	// BothWays is both.
	BothWays = ToTarget | FromTarget
)

// StartRelay relays a free loopback port to target until t ends.
func StartRelay(t testing.TB, target string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	r := &Relay{ln: ln, target: target}
	r.changed = sync.NewCond(&r.mu)
	go r.serve()
	t.Cleanup(func() { _ = ln.Close(); r.SetCut(true) })
	return r
}

// Addr is the relay's host:port.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

func (r *Relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.cut {
			r.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", r.target)
		if err != nil {
			r.mu.Unlock()
			_ = c.Close()
			continue
		}
		r.conns = append(r.conns, c, up)
		r.mu.Unlock()
		go r.pump(up, c, ToTarget)
		go r.pump(c, up, FromTarget)
	}
}

// pump copies src to dst one way: a reader that drops what comes while
// that way is silent (and keeps what comes while held) and a writer that
// waits while the relay is held. src's end (its close) reaches dst only
// once that way is not silent: a silent link sends no FIN either.
func (r *Relay) pump(dst, src net.Conn, way Ways) {
	chunks := make(chan []byte, 64)
	go r.read(src, way, chunks)
	failed := false
	for chunk := range chunks { // drained to the end, so the reader never blocks
		r.mu.Lock()
		for way == ToTarget && r.held && !r.cut {
			r.changed.Wait()
		}
		r.mu.Unlock()
		if !failed {
			_, err := dst.Write(chunk)
			failed = err != nil
		}
	}
	r.mu.Lock()
	for r.silent&way != 0 && !r.cut {
		r.changed.Wait()
	}
	r.mu.Unlock()
	_ = dst.Close()
}

// read hands what src sends to chunks, less what is dropped, until src
// ends.
func (r *Relay) read(src net.Conn, way Ways, chunks chan<- []byte) {
	defer close(chunks)
	for {
		buf := make([]byte, 32<<10)
		k, err := src.Read(buf)
		if k > 0 && r.pass(buf[:k], way) {
			chunks <- buf[:k]
		}
		if err != nil {
			return
		}
	}
}

// pass reports whether chunk, read from one way, goes on: not while that
// way is silent.
func (r *Relay) pass(chunk []byte, way Ways) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.silent&way != 0 {
		r.dropped += int64(len(chunk))
		return false
	}
	if way == ToTarget && r.held {
		r.heldData = append(r.heldData, chunk...)
	}
	return true
}

// Held is a copy of what the peers sent while the relay was held.
func (r *Relay) Held() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.heldData...)
}

// SetHeld holds (or lets go) what the peers send: while held, a request
// is taken from its peer but not passed on, so it stays unanswered, as one
// a server took in just before it stopped. The target's side still flows,
// and its close still reaches the peer.
func (r *Relay) SetHeld(held bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = held
	r.changed.Broadcast()
}

// SetSilent makes the given ways silent (0 heals): what is sent that way
// is read and dropped, and a close is not passed on, while every socket
// stays open. It is a partition, a frozen host or a pulled cable as TCP
// sees it: no FIN, no RST, nothing comes back. What was dropped is lost
// for good; what is sent after the heal flows again.
func (r *Relay) SetSilent(ways Ways) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.silent = ways
	r.changed.Broadcast()
}

// Dropped is how many bytes the relay dropped while silent.
func (r *Relay) Dropped() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// SetCut cuts (closing what is relayed, refusing what comes) or heals.
func (r *Relay) SetCut(cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = cut
	r.changed.Broadcast()
	if cut {
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.conns = nil
	}
}
