package testkit

import (
	"io"
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
	unheld   *sync.Cond // on mu: held or cut changed
}

// StartRelay relays a free loopback port to target until t ends.
func StartRelay(t testing.TB, target string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	r := &Relay{ln: ln, target: target}
	r.unheld = sync.NewCond(&r.mu)
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
		go func() { r.copyHeld(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// copyHeld copies what a peer sends to the target: a reader that keeps
// what comes while the relay is held (Held) and a writer that waits while
// it is held.
func (r *Relay) copyHeld(up, c net.Conn) {
	chunks := make(chan []byte, 64)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			k, err := c.Read(buf)
			if k > 0 {
				r.mu.Lock()
				if r.held {
					r.heldData = append(r.heldData, buf[:k]...)
				}
				r.mu.Unlock()
				chunks <- buf[:k]
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for chunk := range chunks { // drained to the end, so the reader never blocks
		r.mu.Lock()
		for r.held && !r.cut {
			r.unheld.Wait()
		}
		r.mu.Unlock()
		if !failed {
			_, err := up.Write(chunk)
			failed = err != nil
		}
	}
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
	r.unheld.Broadcast()
}

// SetCut cuts (closing what is relayed, refusing what comes) or heals.
func (r *Relay) SetCut(cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = cut
	r.unheld.Broadcast()
	if cut {
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.conns = nil
	}
}
