package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// direct is one keep-alive HTTP/1.1 connection to the receiver,
// written and read by the delivering goroutine itself with net/http's own
// request writer and response reader (Request.Write, ReadResponse). The
// Transport does the same work on two goroutines of its own per
// connection, handing each request over and its answer back: those
// wake-ups were ~40% of a request's CPU (BenchmarkSendBatch). A proxy
// from the environment stays with the Transport (CONNECT and the proxy's
// own rules). Used by the delivering goroutine only.
type direct struct {
	addr    string
	tls     *tls.Config // nil for http://
	dialer  net.Dialer
	timeout time.Duration

	conn   net.Conn
	lim    io.LimitedReader // conn, bounded per answer (maxAnswer)
	br     *bufio.Reader
	out    net.Buffers // the request's head and body (in outs), for one writev
	outs   [2][]byte
	reused bool // conn has answered a request before
	// dialed and used: when conn was made and last carried a request. An
	// old or long idle one is dialed anew, so that a moved DNS name is
	// followed (reuse).
	dialed, used time.Time
	// raw is conn's socket (under TLS too), peeked at by pending through
	// peekFn (peek, bound once: a method value made per call allocates).
	raw     syscall.RawConn
	peekFn  func(uintptr) bool
	peekBuf [1]byte
	peeked  int // peek's finding
	// unasked counts kept connections dropped for bytes no request asked
	// for; the deliverer logs and counts them (Deliverer.post).
	unasked int
	// done is the Done of the ctx the connection was dialed for: its end
	// stops a try under way (stopCtx undoes that on close). The
	// deliverer's tries all come with one ctx, so it is watched once a
	// connection, not once a try.
	done    <-chan struct{}
	stopCtx func() bool

	// The request (for ReadResponse), its head, its write buffer and the
	// answer's drain, reused try after try: no other goroutine sees them.
	req     *http.Request
	head    head
	hbuf    []byte
	scratch []byte // the answer's body, read and dropped
}

// newDirect is a direct connection to u, or nil when u needs the
// Transport: a proxy set in the environment.
func newDirect(u *url.URL, timeout time.Duration) *direct {
	req := &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if p, err := http.ProxyFromEnvironment(req); err != nil || p != nil {
		return nil
	}
	c := &direct{addr: hostPort(u), timeout: timeout, req: req,
		dialer: net.Dialer{KeepAlive: 30 * time.Second}}
	c.peekFn = c.peek
	if u.Scheme == "https" {
		// The system's roots, as the Transport's default; HTTP/1.1 only.
		c.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	}
	req.Header = http.Header{
		"Content-Type": {"application/json"},
		"User-Agent":   {"cliser-webhook"},
	}
	if u.User != nil { // as http.Client does for a URL with credentials
		pw, _ := u.User.Password()
		req.Header["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))}
	}
	h, err := newHead(req)
	if err != nil {
		return nil // not seen with a URL parseURL accepts; the Transport can still send
	}
	c.head = h
	return c
}

// maxAnswer bounds what is read of one answer, its headers included (the
// Transport's bound is on the headers alone): a receiver can not make
// cliser hold more; beyond it the try fails and the connection closes.
const maxAnswer = 1<<20 + 64<<10

// A kept connection is dialed anew past connIdle unused (the Transport's
// IdleConnTimeout) or connAge old: a receiver's DNS name that moved was
// never followed while the old address answered (webhook audit).
const (
	connIdle = 90 * time.Second
	connAge  = 5 * time.Minute
)

// bodyWait bounds the read of an answer's body once its status is in: a
// 2xx whose body trickled held every batch for the whole timeout, without
// a word (webhook audit). The status counts; the connection closes.
const bodyWait = time.Second

func hostPort(u *url.URL) string {
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// do makes one try of a request. A kept connection the receiver closed
// while idle fails before any answer: the request goes once more on a
// new one (as the Transport does), a repeat the receiver can tell by its
// webhook-id should it have read the first.
func (c *direct) do(ctx context.Context, id string, ts, sig, body []byte) (int, http.Header, error) {
	reused := c.conn != nil && c.reused
	status, h, err := c.try(ctx, id, ts, sig, body)
	if err != nil && reused && ctx.Err() == nil && closedIdle(err) {
		status, h, err = c.try(ctx, id, ts, sig, body)
	}
	return status, h, err
}

// closedIdle reports whether err is a connection closed under us (not a
// timeout).
func closedIdle(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *direct) try(ctx context.Context, id string, ts, sig, body []byte) (int, http.Header, error) {
	now := time.Now()
	deadline := now.Add(c.timeout)
	if c.conn != nil && (c.done != ctx.Done() || !c.reusable(now)) {
		c.close() // watched for another ctx, or not to be reused
	}
	if c.conn == nil {
		if err := c.dial(ctx, deadline); err != nil {
			return 0, nil, err
		}
	}
	c.used = now
	_ = c.conn.SetDeadline(deadline)
	// After the deadline is set: a ctx that ended before it (its watch
	// may have run first) is seen here, one that ends later by the watch.
	if err := ctx.Err(); err != nil {
		c.close()
		return 0, nil, err
	}
	status, h, keep, err := c.exchange(id, ts, sig, body)
	if ctx.Err() != nil || !keep || err != nil {
		c.close()
	} else {
		c.reused = true
	}
	return status, h, err
}

func (c *direct) dial(ctx context.Context, deadline time.Time) error {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := c.dialer.DialContext(dctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.raw = nil
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			// "context deadline exceeded" alone named neither (webhook audit).
			return fmt.Errorf("TLS handshake with %s: %w", c.addr, err)
		}
		conn = tc
	}
	c.conn, c.reused, c.dialed = conn, false, time.Now()
	// The end of ctx (shutdown, a lost lease) stops a try under way.
	c.done, c.stopCtx = ctx.Done(), context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c.lim.R = conn
	if c.br == nil {
		c.br = bufio.NewReader(&c.lim)
	} else {
		c.br.Reset(&c.lim)
	}
	return nil
}

// exchange writes the request and reads the answer; keep is whether the
// connection can carry the next one.
func (c *direct) exchange(id string, ts, sig, body []byte) (status int, h http.Header, keep bool, err error) {
	c.hbuf = c.head.appendTo(c.hbuf[:0], len(body), id, sig, ts)
	// Head and body in one writev (TCP; over TLS a write each), not
	// copied first into a write buffer: a batch is ~30 KB.
	c.out = append(c.outs[:0], c.hbuf, body) // WriteTo consumes out, not outs
	if _, err = c.out.WriteTo(c.conn); err != nil {
		return 0, nil, false, err
	}
	c.lim.N = maxAnswer
	if _, err = c.br.Peek(1); err != nil {
		return 0, nil, false, err
	}
	if status, ok := quickAnswer(c.br); ok {
		return status, nil, true, nil
	}
	resp, err := http.ReadResponse(c.br, c.req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(c.br, c.req) // 1xx: informational
	}
	if err != nil && c.lim.N == 0 {
		err = fmt.Errorf("the answer passed %d bytes before its headers ended: %w", maxAnswer, err)
	}
	if err != nil {
		return 0, nil, false, err
	}
	// Read a little of the answer so the connection can be reused.
	_ = c.conn.SetReadDeadline(time.Now().Add(bodyWait))
	n, err := c.discard(resp.Body, 64<<10)
	_ = resp.Body.Close()
	keep = err == nil && n < 64<<10 && !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	return resp.StatusCode, resp.Header, keep, nil
}

// discard reads r to its end or to limit bytes into a buffer of its own:
// io.Copy to io.Discard takes one from a sync.Pool, which the race
// detector empties at random (TestSendAllocationBudget runs under it).
func (c *direct) discard(r io.Reader, limit int64) (int64, error) {
	if c.scratch == nil {
		c.scratch = make([]byte, 4<<10)
	}
	var n int64
	for n < limit {
		k, err := r.Read(c.scratch[:min(int64(len(c.scratch)), limit-n)])
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// reusable reports whether the kept connection may carry the next
// request at now: not too old nor idle too long (connAge, connIdle), and
// with nothing from the receiver since its last answer. A second answer
// to one request was read as the answer to the next, and a batch the
// receiver refused counted acknowledged (webhook audit); the Transport
// drops a connection with such an "unsolicited response" too. What the
// kernel holds is peeked at with MSG_DONTWAIT (pending): a read with a
// deadline allocates its timeout's error (TestSendAllocationBudget), and
// one whose deadline has passed makes no read call at all.
func (c *direct) reusable(now time.Time) bool {
	if now.Sub(c.used) > connIdle || now.Sub(c.dialed) > connAge {
		return false
	}
	switch c.pending() {
	case peekData:
		c.unasked++
		return false
	case peekEnd:
		return false // closed by the receiver while idle
	}
	return true
}

// What pending found on the kept connection.
const (
	peekNone = iota // nothing: it can carry the next request
	peekData        // bytes no request asked for
	peekEnd         // the receiver's close
)

// pending says what the kept connection holds, buffered or in the
// kernel. The read deadline goes first: one passed since the last answer
// (a batch more than a second later) makes the raw read return without
// a look.
func (c *direct) pending() int {
	if c.br.Buffered() > 0 {
		return peekData
	}
	if c.raw == nil {
		return peekNone
	}
	c.peeked = peekNone
	_ = c.conn.SetReadDeadline(time.Time{})
	_ = c.raw.Read(c.peekFn)
	return c.peeked
}

// peek is the raw read of pending, on the connection's socket: a byte,
// or the end (n 0); EAGAIN, nothing yet. It never waits.
func (c *direct) peek(fd uintptr) bool {
	n, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == nil && n > 0:
		c.peeked = peekData
	case err == nil:
		c.peeked = peekEnd
	}
	return true
}

func (c *direct) close() {
	if c.conn != nil {
		c.stopCtx()
		_ = c.conn.Close()
		c.conn, c.done, c.stopCtx = nil, nil, nil
	}
}
