package reactor

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// The keep-alive fuzz servers send a keep-alive every kaInterval. The
// strict one gives kaStrictTimeout for an echo (and for the handshake),
// so that no loaded machine's stall reaches it (docs/testing.md: no
// product timeout bounds a test) and every outcome is the model's; the
// fast one kaFastTimeout, so that its timeouts (an unanswered keep-alive,
// an unacked shutdown order) run too: one may overtake a slow harness's
// answer, and is then accepted only when it came a timeout after the
// earliest its keep-alive or order can have gone.
const (
	kaInterval      = 5 * time.Millisecond
	kaStrictTimeout = time.Hour
	kaFastTimeout   = 50 * time.Millisecond
	kaCID           = "ka-fuzz"
	// kaMaxOps bounds an input's ops: each may wait an interval for a
	// keep-alive, and the fuzzer's long inputs stalled its workers.
	kaMaxOps = 32
)

// The ops of a FuzzKeepAlive input: an op byte (mod kaOps), an arg byte,
// and for kaRaw arg bytes of payload (0: the rest), for kaOrder arg/2.
const (
	kaEcho  = iota // echo the keep-alive out (one is awaited if none is)
	kaWrong        // a wrong token: another number, a leading zero, a space
	kaRaw          // the payload, written as it is
	kaSplit        // the echo in two writes, cut at arg
	kaOrder        // an operator's shutdown order, the payload its text; an odd arg awaits a keep-alive first
	kaAck          // "130 ok"
	kaQuiet        // nothing more: the fast server's timeout closes; the strict one's client closes
	kaClose        // the client half-closes
	kaOps
)

// FuzzKeepAlive registers a client on a real server with a short
// keep-alive interval, then runs the fuzzed ops against its keep-alives
// and shutdown orders: echoes right and wrong, whole and cut, raw bytes
// (partial, too long, malformed, other codes), operator orders and acks,
// silence and a client close. The server must answer as a model of the
// protocol says: a correct echo keeps the client, who then gets the next
// keep-alive; any other line gets its "190 <reason>" and a close; "130
// ok" to an order closes without a 190; an unanswered keep-alive gets
// "190 keepalive timeout", never before the timeout. After each input the
// connection is gone, no handshake state is left, and the registry record
// is disconnected with the model's reason. Seeded with the golden lines
// in answer to a keep-alive.
func FuzzKeepAlive(f *testing.F) {
	reg := registry.New()
	strict, fast := kaServer(f, reg, kaStrictTimeout), kaServer(f, reg, kaFastTimeout)

	for _, g := range protocol.GoldenLines {
		f.Add(append([]byte{kaRaw, 0}, g.Wire...), false)
		f.Add(append([]byte{kaEcho, 0, kaRaw, 0}, g.Wire...), false)
	}
	for _, s := range []struct {
		ops  string
		fast bool
	}{
		{"\x00\x00\x00\x00\x00\x00", false},      // three echoes, then a close
		{"\x00\x00\x01\x00", false},              // the next token
		{"\x01\x01", false}, {"\x01\x02", false}, // a leading zero; a space
		{"\x03\x00\x03\x02\x03\x05\x03\x09", false},              // echoes cut at each point
		{"\x02\x04100 ", false},                                  // a partial echo, then silence
		{"\x02\x041000\x00\x00", false},                          // a partial line the echo completes wrong
		{"\x02\x06100 1\n", false},                               // maybe the right token
		{"\x04\x00\x05\x00", false},                              // an order, acked
		{"\x04\x09test\x00\x00\x05\x00", false},                  // an order, an echo of the keep-alive out, the ack
		{"\x04\x09test\x00\x00", false},                          // no keep-alive follows that echo
		{"\x04\x09test\x06\x00", true},                           // the order's timeout, a keep-alive out
		{"\x04\x00\x04\x00\x05\x00", false},                      // a second order sends nothing
		{"\x04\x00\x02\x07130 ok\r\n", false},                    // a CRLF ack
		{"\x04\x00\x02\x06130 no", false},                        // a wrong ack
		{"\x04\x00\x00\x00\x00\x00", false},                      // no keep-alive while an order is out
		{"\x05\x00", false},                                      // an ack without an order
		{"\x02\x00" + strings.Repeat("9", 600), false},           // too long
		{"\x02\x0a100 1\n100 1\n", false},                        // two echoes at once
		{"\x07\x00", false}, {"\x02\x02\x31\x30\x07\x00", false}, // closes
		{"\x06\x00", true}, {"\x00\x00\x06\x00", true}, // keep-alive timeouts
		{"\x04\x00\x06\x00", true}, {"\x02\x03100\x06\x00", true}, // an order timed out; a partial line
		{"\x00\x00\x00\x00\x05\x00", true},
	} {
		f.Add([]byte(s.ops), s.fast)
	}
	f.Fuzz(func(t *testing.T, ops []byte, isFast bool) {
		srv, timeout := strict, kaStrictTimeout
		if isFast {
			srv, timeout = fast, kaFastTimeout
		}
		r := &kaRun{t: t, reg: reg, fast: isFast, timeout: timeout, ops: ops, in: ops}
		r.run(srv.Addr())
		eventually(t, func() bool { return srv.Connections() == 0 }, "connection closed")
		eventually(t, func() bool { return pendingHandshakes(srv) == 0 }, "handshake state released")
		eventually(t, func() bool { rec, _ := reg.Get(kaCID); return !rec.CStatus }, kaCID+" disconnected")
		if rec, _ := reg.Get(kaCID); rec.Reason != r.reason {
			t.Fatalf("%q: recorded reason %q, want %q", ops, rec.Reason, r.reason)
		}
	})
}

func kaServer(f *testing.F, reg *registry.Registry, timeout time.Duration) *Server {
	srv, err := New(reg, WithAddr("127.0.0.1:0"), WithPasswords([][]byte{[]byte(testPassword)}), WithLoops(2),
		WithLogger(zap.NewNop()), WithKeepAlive(kaInterval, timeout), WithHandshakeTimeout(time.Hour))
	require.NoError(f, err)
	require.NoError(f, srv.Start())
	testkit.StopAtEnd(f, srv.Stop)
	return srv
}

// kaRun is one FuzzKeepAlive input's connection and the model of what the
// server knows of it. Bytes are written only while a keep-alive or an
// order is out, and a write stops at a correct echo: so no keep-alive can
// be sent while the server reads them, and the model is exact.
type kaRun struct {
	t       *testing.T
	reg     *registry.Registry
	fast    bool
	timeout time.Duration
	ops     []byte // the whole input, for messages
	in      []byte // the ops still to run

	c   *net.TCPConn
	eof bool // the last read ended at the server's FIN, not a reset
	r   *bufio.Reader

	tok       string    // the keep-alive out, "" when none
	last      string    // the last keep-alive's token
	pinged    bool      // a keep-alive has come
	pingFloor time.Time // the last keep-alive went after this
	cleared   time.Time // the next one goes after this: the write of the last echo
	shutOut   bool      // an order is out, not acked
	orderAt   time.Time // it went after this
	pending   []byte    // bytes written that make no whole line yet

	closed bool            // the model has the server close
	want   string          // its last line, "" for a quiet close
	alt    string          // or this one, when the reads' cuts decide
	reason protocol.Reason // the close's recorded reason
	// orderTimeout: the close is the unacked order's timeout.
	orderTimeout bool
}

func (r *kaRun) run(addr string) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(r.t, err)
	defer c.Close()
	r.c, r.r = c.(*net.TCPConn), bufio.NewReader(c)
	require.NoError(r.t, c.SetDeadline(time.Now().Add(10*time.Second)))
	r.cleared = time.Now()
	r.write([]byte("110 " + testPassword + "\n120 " + kaCID + "\n"))
	for _, w := range []string{"110 password", "120 id"} {
		if l, _ := r.next(); l != w {
			r.t.Fatalf("handshake: server said %q, want %q", l, w)
		}
	}
	if l, _ := r.next(); !isConnected(l) {
		r.t.Fatalf("handshake: server said %q, want 140 connected", l)
	}
	for i := 0; i < kaMaxOps && len(r.in) > 0 && !r.closed; i++ {
		r.step()
	}
	switch {
	case r.closed:
	case r.tok == "" && !r.shutOut:
		r.awaitPing() // a correct echo keeps the client across a keep-alive
	case r.shutOut && r.tok == "":
		r.silent(3 * kaInterval) // and none while an order is out
	}
	if !r.closed {
		r.clientClose()
	}
	r.finish()
}

// step runs the input's next op.
func (r *kaRun) step() {
	op, arg := r.in[0]%kaOps, byte(0)
	if len(r.in) > 1 {
		arg = r.in[1]
	}
	r.in = r.in[min(2, len(r.in)):]
	switch op {
	case kaEcho:
		r.awaitOut()
		r.send([]byte("100 " + r.token() + "\n"))
	case kaWrong:
		r.awaitOut()
		r.send([]byte("100 " + wrongToken(r.token(), arg) + "\n"))
	case kaRaw:
		r.send(r.payload(arg, true))
	case kaSplit:
		r.awaitOut()
		l := []byte("100 " + r.token() + "\n")
		cut := int(arg) % (len(l) + 1)
		r.send(l[:cut])
		r.send(l[cut:])
	case kaOrder:
		if arg%2 == 1 {
			r.awaitOut()
		}
		r.order(string(r.payload(arg/2, false)))
	case kaAck:
		r.send([]byte("130 ok\n"))
	case kaQuiet:
		r.quiet()
	case kaClose:
		r.clientClose()
	}
}

// payload takes the next n input bytes; n 0 takes the rest, or none.
func (r *kaRun) payload(n byte, rest bool) []byte {
	k := min(int(n), len(r.in))
	if n == 0 && rest {
		k = len(r.in)
	}
	p := r.in[:k]
	r.in = r.in[k:]
	return p
}

// token is the token an echo answers: the one out, else the last one.
func (r *kaRun) token() string {
	if r.tok != "" {
		return r.tok
	}
	return r.last
}

func wrongToken(tok string, arg byte) string {
	n, _ := strconv.ParseUint(tok, 10, 64)
	switch arg % 3 {
	case 0:
		return strconv.FormatUint(n+1+uint64(arg), 10)
	case 1:
		return "0" + tok
	default:
		return " " + tok
	}
}

// awaitOut waits for a keep-alive when neither one nor an order is out.
func (r *kaRun) awaitOut() {
	if !r.closed && r.tok == "" && !r.shutOut {
		r.awaitPing()
	}
}

// awaitPing reads the next keep-alive, which must come.
func (r *kaRun) awaitPing() {
	l, ok := r.next()
	if !r.ping(l, ok) {
		r.unexpected(l, ok, "a keep-alive")
	}
}

// ping takes l as a keep-alive when it is one with a new token.
func (r *kaRun) ping(l string, ok bool) bool {
	arg, isKA := strings.CutPrefix(l, "100 ")
	if !ok || !isKA || r.tok != "" || r.shutOut {
		return false
	}
	n, err := protocol.ParseToken([]byte(arg))
	if err != nil || strconv.FormatUint(n, 10) != arg || arg == r.last {
		r.t.Fatalf("%q: keep-alive %q: its token is not a new canonical decimal (last %q)", r.ops, l, r.last)
	}
	r.tok, r.last, r.pinged, r.pingFloor = arg, arg, true, r.cleared
	return true
}

// send writes b as the server would read it: while nothing is out, a
// keep-alive is awaited first; a write ends at a correct echo, after which
// the next keep-alive may come at any moment.
func (r *kaRun) send(b []byte) {
	for len(b) > 0 && !r.closed {
		r.awaitOut()
		if r.closed {
			return
		}
		at := time.Now()
		n := r.model(b)
		r.write(b[:n])
		if r.tok == "" && !r.shutOut && !r.closed {
			r.cleared = at
		}
		b = b[n:]
	}
}

// model reads b after the pending bytes as the server must, up to and
// including the first line that changes what is out or closes; it returns
// how much of b that is.
func (r *kaRun) model(b []byte) int {
	buf := append(r.pending[:len(r.pending):len(r.pending)], b...)
	off := 0
	defer func() { r.pending = buf[off:] }()
	for {
		raw, n, err := protocol.NextLine(buf[off:])
		if err != nil {
			// As in model (session_fuzz_test.go): junk within the first
			// 511 bytes may be refused before 512 arrive.
			if _, _, jerr := protocol.NextLine(buf[off:][:min(len(buf)-off, protocol.MaxLine-1)]); errors.Is(err, protocol.ErrLineTooLong) && jerr != nil {
				r.alt = closeLine(protocol.ReasonProtocolError)
			}
			r.close(protocol.ReasonFor(err))
			return len(b)
		}
		if n == 0 {
			return len(b)
		}
		off += n
		used := off - (len(buf) - len(b))
		if used <= 0 { // a line the pending bytes held whole: not possible
			r.t.Fatalf("pending %q held a whole line", r.pending)
		}
		if r.line(raw) {
			return used
		}
	}
}

// line takes one whole client line; it reports whether a keep-alive may
// now be sent, or the server closes: the write stops there.
func (r *kaRun) line(raw []byte) bool {
	l, err := protocol.Parse(raw)
	switch {
	case err != nil:
		r.close(protocol.ReasonFor(err))
	case l.Code == protocol.CodeKeepAlive && l.Arg != nil && r.tok != "" && string(l.Arg) == r.tok:
		r.tok = ""
	case r.shutOut && l.Code == protocol.CodeShutdown && string(l.Arg) == "ok":
		r.closed, r.want, r.reason = true, "", protocol.ReasonShutdown
	default:
		r.close(protocol.ReasonProtocolError)
	}
	return r.closed || r.tok == "" && !r.shutOut
}

func (r *kaRun) close(reason protocol.Reason) {
	r.closed, r.want, r.reason = true, closeLine(reason), reason
}

// order has the operator order the client down, as the admin API does,
// and reads the 130 line (after the keep-alive it may overtake) when no
// order was out: a second one sends nothing.
func (r *kaRun) order(text string) {
	r.orderAt = time.Now()
	conn, err := r.reg.Conn(kaCID)
	if err != nil {
		l, ok := r.next() // only a fast server's timeout closes it unasked
		r.unexpected(l, ok, "a connected client")
		return
	}
	require.NoError(r.t, conn.Shutdown(text))
	if r.shutOut {
		return
	}
	want := string(protocol.AppendShutdown(nil, text))
	want = want[:len(want)-1]
	for {
		l, ok := r.next()
		if ok && l == want {
			r.shutOut = true
			return
		}
		if !r.ping(l, ok) {
			r.unexpected(l, ok, want)
			return
		}
	}
}

// quiet answers nothing more: the fast server's timeout closes, the
// keep-alive's with a 190 (one out when the order came keeps its own
// deadline, which comes first), the order's quietly; the strict one's
// would take too long, so the client closes.
func (r *kaRun) quiet() {
	if !r.fast {
		r.clientClose()
		return
	}
	r.awaitOut()
	if r.closed {
		return
	}
	if r.shutOut && r.tok == "" {
		r.closed, r.want, r.reason, r.orderTimeout = true, "", protocol.ReasonShutdown, true
	} else {
		r.close(protocol.ReasonKeepaliveTimeout)
	}
}

// silent checks that the server says nothing for d.
func (r *kaRun) silent(d time.Duration) {
	require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(d)))
	_, err := r.r.Peek(1)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(10*time.Second)))
		return
	}
	require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(10*time.Second)))
	l, ok := r.next()
	r.unexpected(l, ok, "nothing while an order is out")
}

// clientClose half-closes: the server then closes, with no line but a
// keep-alive that may have been on its way.
func (r *kaRun) clientClose() {
	_ = r.c.CloseWrite()
	if r.tok == "" && !r.shutOut {
		for {
			l, ok := r.next()
			if !ok {
				break
			}
			if !r.ping(l, ok) {
				r.unexpected(l, ok, "the close")
				return
			}
		}
	}
	r.closed, r.want, r.reason = true, "", protocol.ReasonClosedByClient
}

// finish reads to the server's close, which must say the model's last
// line. A reset may lose it (bytes the server did not read).
func (r *kaRun) finish() {
	l, ok := r.next()
	switch {
	case !ok && (r.want == "" || !r.clean()):
	case ok && r.want != "" && (l == r.want || l == r.alt):
		if l2, ok2 := r.next(); ok2 {
			r.t.Fatalf("%q: server said %q after %q", r.ops, l2, l)
		}
	default:
		r.unexpected(l, ok, "the close with "+strconv.Quote(r.want))
		return
	}
	switch {
	case r.want == closeLine(protocol.ReasonKeepaliveTimeout):
		r.notEarly(r.pingFloor)
	case r.orderTimeout:
		r.notEarly(r.orderAt)
	}
}

func (r *kaRun) clean() bool { return r.eof }

// unexpected fails the run, unless the fast server's timeout explains l:
// a keep-alive or an order out long enough, and closed as the timeout
// closes. A reset may have lost the 190.
func (r *kaRun) unexpected(l string, ok bool, want string) {
	ka := closeLine(protocol.ReasonKeepaliveTimeout)
	switch {
	case !r.fast:
	case r.shutOut && r.tok == "" && !ok && time.Since(r.orderAt) >= r.timeout:
		r.closed, r.want, r.reason = true, "", protocol.ReasonShutdown
		return
	case (!r.shutOut || r.tok != "") && r.pinged && (l == ka || !ok && !r.clean()) && time.Since(r.pingFloor) >= r.timeout:
		r.closed, r.want, r.reason = true, "", protocol.ReasonKeepaliveTimeout
		return
	}
	r.t.Fatalf("%q: server said %q (line: %v), want %s", r.ops, l, ok, want)
}

// notEarly fails when the timeout closed sooner than it may: from after
// floor, a timeout later.
func (r *kaRun) notEarly(floor time.Time) {
	if d := time.Since(floor); d < r.timeout {
		r.t.Fatalf("%q: keepalive timeout %v after the keep-alive's earliest send, under %v", r.ops, d, r.timeout)
	}
}

// next reads one server line; false at the close. A partial line or no
// answer in the deadline fails.
func (r *kaRun) next() (string, bool) {
	l, err := r.r.ReadString('\n')
	var ne net.Error
	switch {
	case err == nil:
		return l[:len(l)-1], true
	case errors.As(err, &ne) && ne.Timeout():
		r.t.Fatalf("%q: server neither closed nor answered in 10s; got %q", r.ops, l)
	case l != "":
		r.t.Fatalf("%q: server sent a partial line %q", r.ops, l)
	}
	r.eof = errors.Is(err, io.EOF)
	return "", false
}

func (r *kaRun) write(b []byte) {
	_, _ = r.c.Write(b) // an error: the server closed, as the read will tell
}
