package load

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The epoll transport: a few loops (one per core) read every socket, so an
// idle client costs a socket and a small struct, and a keep-alive costs a
// read and a write — no goroutine wakes for it. Connects are blocking
// syscalls in short-lived dial goroutines (on loopback a connect returns as
// soon as the server's kernel completes it), which then write the pipelined
// handshake and hand the socket to a loop. A loop also sweeps the read
// deadlines (handshake, close after ack) every sweepEvery.
//
// Why not net.Conn: Go's dial and its netpoller cost the load generator
// about three times the server's CPU per handshake on this machine, and a
// burst of keep-alives wakes one goroutine each; the load must cost less
// than the server it measures.

const sweepEvery = 50 * time.Millisecond

// errTimeout is a read deadline passing, as net.Conn reports it.
var errTimeout = os.ErrDeadlineExceeded

// epollState is the engine's epoll transport.
type epollState struct {
	loops []*eloop
	conns []atomic.Pointer[econn] // by fd
	srcs  []*[4]byte              // source addresses; nil entry: the kernel picks
	dst   unix.SockaddrInet4      // copied per connect: a Sockaddr is scratch space for its syscall
	wg    sync.WaitGroup          // loops
}

// econn is one connection on a loop.
type econn struct {
	c       *client
	fd      int  // never changes, so Close may read it from another goroutine
	gone    bool // loop-owned: ended
	lp      *eloop
	s       *session
	done    func() // the ramp's, for a ramp connection
	partial []byte // an incomplete line carried to the next read
	// deadline is the read deadline in unix ns, 0 for none; the dialer
	// sets it before the loop sees the conn, then only the loop.
	deadline int64
}

type eloop struct {
	e   *Engine
	st  *epollState
	efd int
	buf []byte

	mu    sync.Mutex
	added []*econn // handed over by dialers, not yet on the loop's list
	timed []*econn // loop-owned: connections that may have a deadline
}

func newEpoll(e *Engine, addr string, srcs []net.IP, loops int) (*epollState, error) {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil || tcp.IP.To4() == nil {
		return nil, fmt.Errorf("%w: the epoll transport wants an IPv4 host:port, got %q", ErrConfig, addr)
	}
	st := &epollState{dst: unix.SockaddrInet4{Port: tcp.Port, Addr: [4]byte(tcp.IP.To4())}}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, err
	}
	st.conns = make([]atomic.Pointer[econn], min(lim.Cur, 1<<22)+1)
	if len(srcs) == 0 {
		st.srcs = []*[4]byte{nil}
	}
	for _, ip := range srcs {
		if ip.To4() == nil {
			return nil, fmt.Errorf("%w: source address %s is not IPv4", ErrConfig, ip)
		}
		a := [4]byte(ip.To4())
		st.srcs = append(st.srcs, &a)
	}
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	for range loops {
		efd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			st.stop()
			return nil, err
		}
		lp := &eloop{e: e, st: st, efd: efd, buf: make([]byte, 64<<10)}
		st.loops = append(st.loops, lp)
		st.wg.Add(1)
		go func() { defer st.wg.Done(); lp.run() }()
	}
	return st, nil
}

// stop waits for the loops (the engine is closing) and closes their epolls.
func (st *epollState) stop() {
	st.wg.Wait()
	for _, lp := range st.loops {
		_ = unix.Close(lp.efd)
	}
}

// closeAll closes every connection's socket (the engine is closing, so
// no dial hands over another); whoever swaps a conn out of conns ends it.
func (st *epollState) closeAll(e *Engine) {
	for i := range st.conns {
		if ec := st.conns[i].Swap(nil); ec != nil {
			_ = unix.Close(ec.fd)
			e.wg.Done()
		}
	}
}

// dial connects one client and hands it to a loop. It runs in its own
// goroutine; done (ramp connections) is called once the handshake ends.
func (st *epollState) dial(c *client, ramp bool, done func()) {
	e := c.e
	s := newSession(ramp)
	fail := func(kind string) {
		if !e.closing.Load() {
			e.errs.add(kind)
		}
		if ramp {
			done()
		}
		c.settle()
		e.wg.Done()
	}
	fd, kind := st.connectSocket(c)
	if kind != "" {
		fail(kind)
		return
	}
	ec := &econn{c: c, fd: fd, s: s, done: done, deadline: s.start.Add(e.cfg.HandshakeTimeout).UnixNano()}
	lp := st.loops[fd%len(st.loops)]
	ec.lp = lp
	if fd >= len(st.conns) || e.closing.Load() {
		_ = unix.Close(fd)
		fail(KindReadError)
		return
	}
	st.conns[fd].Store(ec)
	lp.mu.Lock()
	lp.added = append(lp.added, ec)
	lp.mu.Unlock()
	err := unix.EpollCtl(lp.efd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)})
	if (err != nil || e.closing.Load()) && st.conns[fd].CompareAndSwap(ec, nil) {
		_ = unix.Close(fd)
		kind = KindReadError
		if err != nil {
			kind = "load: epoll_ctl: " + err.Error()
		}
		fail(kind)
	}
}

// connectSocket opens a socket from c's source address, connects it to the
// server and writes c's handshake answers; on a failure it closes the
// socket and returns the error's kind.
func (st *epollState) connectSocket(c *client) (fd int, kind string) {
	timeout := c.e.cfg.DialTimeout
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, dialKind(err)
	}
	// Bounds the blocking connect and every write.
	tv := unix.NsecToTimeval(int64(timeout))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if src := st.srcs[c.src]; src != nil {
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: *src}); err != nil {
			_ = unix.Close(fd)
			return -1, dialKind(err)
		}
	}
	if err := connect(fd, st.dst, timeout); err != nil {
		_ = unix.Close(fd)
		return -1, dialKind(err)
	}
	if err := writeAll(fd, c.answers); err != nil {
		_ = unix.Close(fd)
		return -1, KindWriteError
	}
	return fd, ""
}

// connect is a blocking connect that survives a signal: Go's runtime
// preempts threads with SIGURG, and a connect interrupted by it goes on in
// the kernel, so it is waited for (poll for writable, then SO_ERROR)
// rather than retried.
func connect(fd int, dst unix.SockaddrInet4, timeout time.Duration) error {
	err := unix.Connect(fd, &dst)
	switch err {
	case nil:
		return nil
	case unix.EINTR, unix.EINPROGRESS, unix.EALREADY:
	case unix.EAGAIN:
		return unix.ETIMEDOUT // SO_SNDTIMEO passed
	default:
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return unix.ETIMEDOUT
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, int(left/time.Millisecond)+1)
		if err == unix.EINTR || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return err
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (lp *eloop) run() {
	e := lp.e
	events := make([]unix.EpollEvent, 512)
	lastSweep := time.Now()
	for !e.closing.Load() {
		n, err := unix.EpollWait(lp.efd, events, int(sweepEvery/time.Millisecond))
		if err != nil && err != unix.EINTR {
			e.errs.add("load: epoll: " + err.Error())
			return
		}
		now := time.Now()
		for i := range max(n, 0) {
			fd := int(events[i].Fd)
			ec := lp.st.conns[fd].Load()
			if ec == nil || ec.lp != lp {
				continue
			}
			lp.readable(ec, now)
		}
		if now.Sub(lastSweep) >= sweepEvery {
			lastSweep = now
			lp.sweep(now)
		}
	}
}

// readable reads what arrived and answers it.
func (lp *eloop) readable(ec *econn, now time.Time) {
	c, s := ec.c, ec.s
	buf := append(lp.buf[:0], ec.partial...)
	n, err := unix.Read(ec.fd, buf[len(buf):cap(buf)])
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 {
		if err == nil {
			err = errEOF
		}
		lp.ended(ec, now, func() bool { return c.readEnded(s, err, now) })
		return
	}
	buf = buf[:len(buf)+n]
	used, st := c.consume(s, buf, now, ec.done)
	switch st {
	case stepEnd:
		c.leave(s)
		lp.ended(ec, now, func() bool { return false })
		return
	case stepReconnect:
		c.leave(s)
		lp.ended(ec, now, func() bool { return true })
		return
	}
	if len(s.out) > 0 {
		if err := writeAll(ec.fd, s.out); err != nil {
			c.leave(s)
			c.fail(KindWriteError)
			lp.ended(ec, now, func() bool { return false })
			return
		}
		c.written(s)
	}
	if s.setDeadline {
		s.setDeadline = false
		ec.deadline = 0
		if !s.deadline.IsZero() {
			ec.deadline = s.deadline.UnixNano()
		}
	}
	ec.partial = append(ec.partial[:0], buf[used:]...)
}

// ended closes ec's socket; when again() says so (a probe), the client
// connects again, else its goroutine count ends.
func (lp *eloop) ended(ec *econn, now time.Time, again func() bool) {
	e := lp.e
	if !lp.st.conns[ec.fd].CompareAndSwap(ec, nil) {
		return // the engine closed it
	}
	_ = unix.Close(ec.fd)
	ec.gone = true
	if ec.s.ramp && ec.s.phase == phaseHandshake {
		ec.done()
	}
	if again() && !e.closing.Load() {
		lp.st.redial(ec.c, ec.c.reconnectDelay(now))
		return
	}
	ec.c.settle()
	e.wg.Done()
}

// redial connects probe c again after delay (its slot: spread.go).
func (st *epollState) redial(c *client, delay time.Duration) {
	if delay <= 0 {
		go st.dial(c, false, nil)
		return
	}
	time.AfterFunc(delay, func() { st.dial(c, false, nil) })
}

// sweep fails the connections whose read deadline has passed.
func (lp *eloop) sweep(now time.Time) {
	lp.mu.Lock()
	lp.timed = append(lp.timed, lp.added...)
	clear(lp.added)
	lp.added = lp.added[:0]
	lp.mu.Unlock()
	keep := lp.timed[:0]
	ns := now.UnixNano()
	for _, ec := range lp.timed {
		if ec.gone {
			continue
		}
		if ec.deadline != 0 && ns >= ec.deadline {
			c, s := ec.c, ec.s
			lp.ended(ec, now, func() bool { return c.readEnded(s, errTimeout, now) })
			continue
		}
		keep = append(keep, ec)
	}
	clear(lp.timed[len(keep):])
	lp.timed = keep
}
