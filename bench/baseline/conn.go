package baseline

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/cliser/cliser/protocol"
)

// Buffer sizes per connection. The read buffer must hold a whole line
// (protocol.MaxLine) for protocol.NextLine to see it; twice that lets a
// pipelined handshake arrive in one read. They are kept small because the
// baseline holds them for every idle connection, as the design note does.
const (
	readBufferSize  = 2 * protocol.MaxLine
	writeBufferSize = 2 * protocol.MaxLine
)

// phase is where a session stands in the handshake.
type phase uint8

const (
	phaseAuth       phase = iota // waiting for "110 <password>"
	phaseID                      // waiting for "120 <client-id>"
	phaseRegistered              // in the registry; keep-alives running
	phaseClosed                  // decided to close; goroutines winding down
)

// conn is one client connection: the manager's session state plus the
// mailboxes of its reader and writer goroutines. It is the registry.Conn
// the server registers.
type conn struct {
	srv        *Server
	nc         net.Conn
	cip, cport string

	out        chan outMsg   // the writer's mailbox; only the manager sends and closes it
	resume     chan struct{} // manager -> reader: a read timeout was survived, read on
	done       chan struct{} // closed by the manager when it ends the session
	writerDone chan struct{} // closed by the writer once its last line is out

	// Session state, owned by the manager goroutine alone.
	phase           phase
	cid             string
	sid             uint16
	deadline        time.Time // the read deadline the manager last set
	kaToken         uint64    // the last keep-alive token sent
	kaPending       bool      // a keep-alive awaits its echo
	kaSentAt        time.Time
	shutdownPending bool // "130 shutdown" sent; "130 ok" is now a valid answer
}

func newConn(s *Server, nc net.Conn) *conn {
	cip, cport := peerAddr(nc.RemoteAddr())
	return &conn{
		srv:        s,
		nc:         nc,
		cip:        cip,
		cport:      cport,
		out:        make(chan outMsg, outboxSize),
		resume:     make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// peerAddr splits the peer's address into the design note's cip and cport.
func peerAddr(a net.Addr) (ip, port string) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return ap.Addr().Unmap().String(), strconv.Itoa(int(ap.Port()))
	}
	ip, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), ""
	}
	return ip, port
}

// Shutdown implements registry.Conn: it asks the manager to send
// "130 shutdown[ <text>]". Safe from any goroutine; it returns once the
// command is queued. A connection already gone ignores it.
func (c *conn) Shutdown(text string) error {
	return c.srv.post(event{kind: evShutdown, c: c, text: text})
}

// Close implements registry.Conn: it asks the manager to close the
// connection with reason (sending "190 <reason>" when the reason is one the
// wire carries). Safe from any goroutine; it returns once the command is queued.
func (c *conn) Close(reason protocol.Reason) error {
	return c.srv.post(event{kind: evClose, c: c, reason: reason})
}

func (c *conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// --- reader goroutine ---

// readLoop reads lines in order and posts each to the manager. It never
// decides anything about the session: the manager does.
func (c *conn) readLoop() {
	defer c.srv.connWG.Done()
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	c.readLines(br)
	c.finish(br)
}

func (c *conn) readLines(br *bufio.Reader) {
	for {
		line, err := readLine(br)
		if c.isDone() {
			// The session is over; read on only to drain what the client
			// still sends, until it closes or the linger deadline passes.
			if err != nil && !errors.Is(err, protocol.ErrMalformed) {
				return
			}
			continue
		}
		switch {
		case err == nil:
			c.srv.post(event{kind: evLine, c: c, line: line})
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Only the manager knows what the deadline meant (handshake
			// timeout, keep-alive due, keep-alive missed, or a deadline it
			// has moved since): ask, and wait for its verdict.
			c.srv.post(event{kind: evTimeout, c: c})
			select {
			case <-c.resume:
			case <-c.done:
				return
			case <-c.srv.quit:
				return
			}
		case errors.Is(err, protocol.ErrLineTooLong), errors.Is(err, protocol.ErrMalformed):
			c.srv.post(event{kind: evLine, c: c, err: err})
			return // the framing is lost or the session is over: stop reading lines
		default:
			c.srv.post(event{kind: evReadEnd, c: c, err: err})
			return
		}
	}
}

// readLine returns the next parsed line, its argument copied out of the
// buffer. Framing is protocol.NextLine's, so the 512-byte limit is the same
// rule as everywhere else.
func readLine(br *bufio.Reader) (protocol.Line, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		raw, n, err := protocol.NextLine(buf)
		if err != nil {
			return protocol.Line{}, err
		}
		if n > 0 {
			l, err := protocol.Parse(raw)
			if err == nil && l.Arg != nil {
				l.Arg = bytes.Clone(l.Arg)
			}
			_, _ = br.Discard(n)
			return l, err
		}
		// No complete line yet, and fewer than MaxLine bytes buffered: wait
		// for at least one more byte.
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return protocol.Line{}, err
		}
	}
}

// finish waits for the manager's decision and the writer's last flush, then
// drains what the client still sends (bounded by the linger deadline the
// writer set) and closes the socket. Closing with unread input would send a
// reset that can destroy the final "190 <reason>" before the client reads it.
func (c *conn) finish(br *bufio.Reader) {
	select {
	case <-c.done:
	case <-c.srv.quit:
	}
	<-c.writerDone
	_, _ = io.Copy(io.Discard, br)
	_ = c.nc.Close()
	c.srv.untrack(c)
}

// --- writer goroutine ---

// outKind says which line a writer is asked to send. Lines are encoded in
// the writer, into its own buffer, so a mailbox message allocates nothing.
type outKind uint8

const (
	outPromptPassword outKind = iota
	outPromptID
	outConnected // num is the sid
	outKeepAlive // num is the token
	outShutdown  // text is the operator's text
	outClose     // reason
)

type outMsg struct {
	kind   outKind
	reason protocol.Reason
	num    uint64
	text   string
}

func appendOut(dst []byte, m outMsg) []byte {
	switch m.kind {
	case outPromptPassword:
		return append(dst, protocol.PromptPassword...)
	case outPromptID:
		return append(dst, protocol.PromptID...)
	case outConnected:
		return protocol.AppendConnected(dst, uint16(m.num))
	case outKeepAlive:
		return protocol.AppendKeepAlive(dst, m.num)
	case outShutdown:
		return protocol.AppendShutdown(dst, m.text)
	case outClose:
		return protocol.AppendClose(dst, m.reason)
	}
	return dst
}

// writeLoop writes what the manager queues. It flushes when its mailbox is
// empty, so lines queued together leave in one write. When the manager
// closes the mailbox it flushes the last lines, half-closes (FIN after the
// data) and sets the linger deadline that bounds the reader's drain.
func (c *conn) writeLoop() {
	defer c.srv.connWG.Done()
	defer close(c.writerDone)
	bw := bufio.NewWriterSize(c.nc, writeBufferSize)
	var err error
	for m := range c.out {
		if err != nil {
			continue // keep receiving until the manager closes the mailbox
		}
		_, _ = bw.Write(appendOut(bw.AvailableBuffer(), m))
		if len(c.out) == 0 {
			if err = c.flush(bw); err != nil {
				c.srv.post(event{kind: evWriteFailed, c: c, err: err})
				_ = c.nc.Close() // after the post, so the manager hears the cause first
			}
		}
	}
	if err != nil || c.flush(bw) != nil {
		_ = c.nc.Close()
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(closeLinger))
}

func (c *conn) flush(bw *bufio.Writer) error {
	if bw.Buffered() == 0 {
		return nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	return bw.Flush()
}
