package reactor

import (
	"bytes"
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

// FuzzSession sends arbitrary client bytes, cut into writes of a fuzzed
// size, to a real server over TCP, then half-closes and reads all the
// server says. The per-connection state machine must answer as the
// protocol's model of the bytes does: "110 password" first, "120 id"
// exactly when the first line is the password, "140 connected <sid>"
// exactly when the second is then a valid id, and a refused line's 190
// with the reason the bytes give, however the reads cut them, last.
// And a refused or ended handshake leaves nothing behind: no connection,
// no per-IP handshake slot (one allowed, so a leak refuses every later
// exec), no loop handshake state, no session still connected in the
// registry. proxy picks a server with the PROXY
// protocol on, where a header (as proxyHeaderLen and parseProxyHeader
// read it) must come before the prompt. Seeded with the golden lines,
// after and in place of a handshake, and the golden PROXY headers.
func FuzzSession(f *testing.F) {
	reg := registry.New()
	plain, proxied := fuzzServer(f, reg, false), fuzzServer(f, reg, true)

	hs := "110 " + testPassword + "\n120 pos-0042\n"
	for _, g := range protocol.GoldenLines {
		f.Add([]byte(g.Wire), uint8(0), false)
		f.Add([]byte(hs+g.Wire), uint8(5), false)
	}
	for _, h := range []string{testkit.ProxyHeader(f, 1, "203.0.113.7", 4000), testkit.ProxyHeader(f, 2, "2001:db8::7", 4000), "PROXY UNKNOWN\r\n", "PROXY TCP4 1.2.3.4\r\n"} {
		f.Add([]byte(h+hs), uint8(3), true)
		f.Add([]byte(h), uint8(0), true)
	}
	for _, s := range []string{hs, hs + "130 ok\n", hs + "100 1\n", "110 " + testPassword + "\r\n120 a\r\n",
		"110 wrong\n120 a\n", "110 " + testPassword + "\n120 bad id\n", "110\n", "120 a\n", "110 " + testPassword,
		"110 " + testPassword + "\n120 pos-0042", strings.Repeat("0", 600), hs + strings.Repeat("\x00", 600)} {
		f.Add([]byte(s), uint8(0), false)
		f.Add([]byte(s), uint8(2), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint8, proxy bool) {
		srv := plain
		if proxy {
			srv = proxied
		}
		got, clean := exchange(t, srv.Addr(), data, int(cut)%64+1)
		cid := checkAnswers(t, data, got, clean, proxy)
		eventually(t, func() bool { return srv.Connections() == 0 }, "connection closed")
		eventually(t, func() bool { return pendingHandshakes(srv) == 0 }, "handshake state released")
		if cid != "" {
			eventually(t, func() bool { r, _ := reg.Get(cid); return !r.CStatus }, cid+" disconnected")
		}
	})
}

func fuzzServer(f *testing.F, reg *registry.Registry, proxy bool) *Server {
	srv, err := New(reg, WithAddr("127.0.0.1:0"), WithPasswords([][]byte{[]byte(testPassword)}), WithLoops(2),
		WithLogger(zap.NewNop()), WithAuthFailLimit(0, time.Minute), WithMaxHandshakesPerIP(1),
		WithProxyProtocol(proxy))
	require.NoError(f, err)
	require.NoError(f, srv.Start())
	testkit.StopAtEnd(f, srv.Stop)
	return srv
}

// exchange writes data in writes of step bytes, half-closes, and reads to
// the server's close. clean: the read ended at a FIN, every line seen.
func exchange(t *testing.T, addr string, data []byte, step int) ([]byte, bool) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	for i := 0; i < len(data); i += step {
		if _, err := c.Write(data[i:min(i+step, len(data))]); err != nil {
			break // the server closed on an earlier line
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%q: server neither closed nor answered in 10s; got %q", data, got)
	}
	return got, err == nil
}

// checkAnswers holds the server's lines to the model of the client's
// lines; it returns the cid that got "140 connected", if one did.
func checkAnswers(t *testing.T, data, got []byte, clean, proxy bool) string {
	want, cid, alt := model(data, proxy)
	var lines []string
	for len(got) > 0 {
		i := bytes.IndexByte(got, '\n')
		if i < 0 {
			t.Fatalf("%q: server sent a partial line %q", data, got)
		}
		lines = append(lines, string(got[:i]))
		got = got[i+1:]
	}
	// A connection the server closed may lose its last lines to a reset:
	// those seen are a start of the model's. One read to its FIN has all.
	if len(lines) > len(want) || (clean && len(lines) != len(want)) {
		t.Fatalf("%q: server said %q, want %q", data, lines, want)
	}
	for i, l := range lines {
		if l != want[i] && !(want[i] == "140" && isConnected(l)) && !(i == len(want)-1 && l == alt) {
			t.Fatalf("%q: server said %q, want %q", data, lines, want)
		}
	}
	if len(lines) >= 3 && isConnected(lines[2]) {
		return cid
	}
	return ""
}

func isConnected(l string) bool {
	arg, ok := bytes.CutPrefix([]byte(l), []byte("140 connected "))
	_, err := strconv.ParseUint(string(arg), 10, 16)
	return ok && err == nil
}

// model is what the server must say to data, read whole ("140" stands
// for "140 connected <sid>"), the last line a "190 <reason>" when a line
// of data is refused, the cid it registers, and alt, the other 190 a
// cut may give instead. With no keep-alive out
// (the interval is 30 s) and no failure limit, every line after the
// handshake is a protocol error, and the reason depends on the bytes
// alone, not on how the reads cut them.
func model(data []byte, proxy bool) (want []string, cid, alt string) {
	refuse := func(r protocol.Reason) ([]string, string, string) {
		l := protocol.AppendClose(nil, r)
		return append(want, string(l[:len(l)-1])), cid, alt
	}
	if proxy {
		n, err := proxyHeaderLen(data)
		if err != nil {
			return refuse(protocol.ReasonProtocolError)
		}
		if n == 0 {
			return nil, "", ""
		}
		if _, err := parseProxyHeader(data[:n]); err != nil {
			return refuse(protocol.ReasonProtocolError)
		}
		data = data[n:]
	}
	want = []string{protocol.PromptPassword[:len(protocol.PromptPassword)-1]}
	for step := 0; ; step++ {
		raw, n, err := protocol.NextLine(data)
		if err != nil {
			// 512 bytes without an LF are too long, junk or not; junk in
			// fewer is refused as it comes (docs/protocol.md): the one
			// answer the reads' sizes may change.
			if _, _, jerr := protocol.NextLine(data[:min(len(data), protocol.MaxLine-1)]); errors.Is(err, protocol.ErrLineTooLong) && jerr != nil {
				alt = "190 " + protocol.ReasonProtocolError.String()
			}
			return refuse(protocol.ReasonFor(err))
		}
		if n == 0 {
			return want, cid, ""
		}
		data = data[n:]
		l, err := protocol.Parse(raw)
		switch {
		case err != nil:
			return refuse(protocol.ReasonFor(err))
		case step == 0 && (l.Code != protocol.CodePassword || l.Arg == nil):
			return refuse(protocol.ReasonProtocolError)
		case step == 0 && string(l.Arg) != testPassword:
			return refuse(protocol.ReasonAuthFailed)
		case step == 0:
			want = append(want, protocol.PromptID[:len(protocol.PromptID)-1])
		case step == 1 && (l.Code != protocol.CodeID || l.Arg == nil):
			return refuse(protocol.ReasonProtocolError)
		case step == 1 && protocol.ValidateClientID(l.Arg) != nil:
			return refuse(protocol.ReasonBadID)
		case step == 1:
			want, cid = append(want, "140"), string(l.Arg)
		default:
			return refuse(protocol.ReasonProtocolError)
		}
	}
}

// pendingHandshakes counts what the guard and the loops still hold for
// handshakes: per-IP slots and the loops' handshake state.
func pendingHandshakes(srv *Server) int {
	n := 0
	srv.guard.mu.Lock()
	for _, st := range srv.guard.ips {
		n += max(int(st.pending.Load()), 0)
	}
	srv.guard.mu.Unlock()
	return n + srv.onEveryLoop(func(lp *loop) int { return len(lp.hs) })
}
