package floor

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/cliser/cliser/protocol"
)

// loop is the floor's state for one event loop; only that loop touches it.
type loop struct {
	srv     *Server
	el      gnet.EventLoop
	hs, ka  queue  // handshake deadlines; keep-alive sends
	token   uint64 // keep-alive tokens, counted per loop
	out     []byte // replies gathered during one OnTraffic
	wbuf    []byte // scratch for a line sent outside OnTraffic
	rtt     rttCounts
	advance gnet.Runnable
}

func newLoop(srv *Server, el gnet.EventLoop) *loop {
	lp := &loop{srv: srv, el: el, out: make([]byte, 0, 256), wbuf: make([]byte, 0, 64)}
	lp.advance = gnet.RunnableFunc(lp.runDue)
	return lp
}

func (lp *loop) now() int64 { return int64(time.Since(lp.srv.epoch)) }

// runDue closes handshakes past their timeout and sends the keep-alives
// that fell due. It runs on the loop, queued there by the ticker.
func (lp *loop) runDue(context.Context) error {
	now := lp.now()
	for c, ok := lp.hs.pop(now); ok; c, ok = lp.hs.pop(now) {
		if c.state < registered {
			c.send(protocol.AppendClose(lp.wbuf[:0], protocol.ReasonHandshakeTimeout))
			c.close()
		}
	}
	for c, ok := lp.ka.pop(now); ok; c, ok = lp.ka.pop(now) {
		c.due(now)
	}
	return nil
}

// orderAll sends line (a 130 order) to every registered client of the
// loop: each is in the keep-alive queue exactly once.
func (lp *loop) orderAll(line []byte) int {
	n, now := 0, lp.now()
	q := &lp.ka
	for i := range q.size {
		if c := q.buf[(q.head+i)%len(q.buf)].c; c.order(line, now) {
			n++
		}
	}
	return n
}
