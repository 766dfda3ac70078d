package reactor

import (
	"context"
	"crypto/sha256"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// loop is the reactor's state for one gnet event loop. Only that loop
// touches it, apart from el and srv, which never change.
type loop struct {
	srv       *Server
	el        gnet.EventLoop
	wheel     *wheel
	nextToken uint32     // keep-alive tokens, counted per loop
	wbuf      []byte     // scratch for encoding lines; gnet copies what it keeps
	batch     *session   // the session whose OnTraffic is running: its writes gather in out
	out       []byte     // lines gathered for batch, sent by its flush
	due       []*session // scratch for the wheel's due sessions
	walkAt    int64      // when the running (or last) wheel walk began
	held      []*session // acked, their closes held (held.go)
	holdSince int64      // when the first of held was acked
	share     int        // held closes a walk makes; 0 until the first (closeShare)
	// releaseAt is when held go even with orders still out; 0 when none
	// are held. Read by the ticker.
	releaseAt atomic.Int64
	advance   gnet.Runnable
	hs        map[*session]handshake // sessions between accept and their 120 answer
	orderedAt map[*session]int64     // ordered down while a keep-alive was out: when (shutdown)
	secret    [sha256.Size]byte      // scratch: the digest checkID hands to Identity.Admit
	cips      cipNames               // peers by address: the IP as a string, the guard's entry
}

func newLoop(srv *Server, el gnet.EventLoop) *loop {
	lp := &loop{srv: srv, el: el, wbuf: make([]byte, 0, 128), out: make([]byte, 0, 256),
		hs: make(map[*session]handshake), cips: make(cipNames)}
	lp.wheel = newWheel(int64(srv.opts.tick), lp.now())
	lp.advance = gnet.RunnableFunc(lp.runDue)
	return lp
}

// now is monotonic nanoseconds since the server started.
func (lp *loop) now() int64 { return int64(time.Since(lp.srv.epoch)) }

// runDue advances the wheel and fires what is due. It runs on the loop,
// queued there by the ticker. A walk sends at most sendsPerWalk
// keep-alives and leaves the rest to the next tick's walk.
func (lp *loop) runDue(context.Context) error {
	lp.walkAt = lp.now()
	if lp.heldDue(lp.walkAt) {
		lp.closeHeld(lp.closeShare())
	}
	lp.due = lp.wheel.advance(lp.walkAt, lp.due[:0])
	sends, most := 0, lp.sendsPerWalk()
	for i, s := range lp.due {
		lp.due[i] = nil
		if s.sendsKeepAliveWhenDue() {
			if sends == most {
				lp.wheel.schedule(s, lp.walkAt) // a past due: the next tick
				continue
			}
			sends++
		}
		s.onDue()
	}
	return nil
}

// minWalkSends is the fewest keep-alives a walk may send: about half a
// millisecond of loopback writes.
const minWalkSends = 64

// sendsPerWalk bounds one walk's keep-alives. Its echoes wait while the
// walk writes, and the first client's round trip with them; and since one
// walk's clients fall due together again (sendKeepAlive), walks that a
// busy loop ran late would otherwise merge, round after round, into a few
// bursts of thousands. Four times the average per tick keeps up with any
// rate the wheel holds.
func (lp *loop) sendsPerWalk() int {
	opts := lp.srv.opts
	return max(minWalkSends, int(4*int64(lp.wheel.size)*int64(opts.tick)/int64(opts.keepInterval)))
}

func nanos(ns int64) time.Duration { return time.Duration(ns) }

// onEveryLoop runs f on every loop, each call on its loop, and returns the sum
// of what the runs returned. It queues one task per loop, so a broadcast
// to tens of thousands of clients costs a handful of wake-ups. It returns
// once every task has run, or once the engine has stopped: gnet drops the
// tasks still queued on a loop that stops, so waiting for those alone
// could wait forever. A task that never ran adds nothing. Safe from any
// goroutine.
func (srv *Server) onEveryLoop(f func(*loop) int) int {
	loops := srv.loopList()
	// Room for every task's send: one that runs after the wait gave up
	// must not block its loop.
	done := make(chan int, len(loops))
	for _, lp := range loops {
		err := lp.el.Execute(srv.ctx, gnet.RunnableFunc(func(context.Context) error {
			done <- f(lp)
			return nil
		}))
		if err != nil { // the engine is stopping: the task will not run
			done <- 0
		}
	}
	sum := 0
	for range loops {
		select {
		case n := <-done:
			sum += n
		case <-srv.stopped:
			return sum + ranBeforeStop(done)
		}
	}
	return sum
}

// ranBeforeStop sums what is in done without waiting: once the engine has
// stopped no loop runs, so every task that ran has already sent.
func ranBeforeStop(done chan int) int {
	sum := 0
	for {
		select {
		case n := <-done:
			sum += n
		default:
			return sum
		}
	}
}
