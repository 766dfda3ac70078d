package reactor

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/protocol"
)

func TestHappyPathRegistersClient(t *testing.T) {
	srv := startServer(t)
	c := srv.dial(t)
	sid := c.Handshake(testPassword, "pos-0042")
	assert.NotZero(t, sid)

	rec, ok := srv.reg.Get("pos-0042")
	require.True(t, ok)
	local := c.Conn.LocalAddr().(*net.TCPAddr)
	assert.Equal(t, sid, rec.SID)
	assert.Equal(t, "pos-0042", rec.CID)
	assert.Equal(t, "127.0.0.1", rec.CIP)
	assert.Equal(t, strconv.Itoa(local.Port), rec.CPort)
	assert.True(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonNone, rec.Reason)
	assert.WithinDuration(t, time.Now(), rec.ConnectedAt, 5*time.Second)

	_ = c.Conn.Close()
	eventually(t, func() bool {
		r, _ := srv.reg.Get("pos-0042")
		return !r.CStatus
	}, "record stays, disconnected")
	rec, _ = srv.reg.Get("pos-0042")
	assert.Equal(t, protocol.ReasonClosedByClient, rec.Reason)
	assert.False(t, rec.DisconnectedAt.IsZero())
}

func TestPipelinedHandshakeTakesOneRoundTrip(t *testing.T) {
	srv := startServer(t)
	c := srv.dial(t)
	c.Send("110 " + testPassword + "\n120 pipe-1\n")
	c.Expect("110 password")
	c.Expect("120 id")
	assert.NotZero(t, c.ExpectConnected())
}

func TestCRLFHandshake(t *testing.T) {
	srv := startServer(t, WithKeepAlive(50*time.Millisecond, time.Second))
	c := srv.dial(t)
	c.Expect("110 password")
	c.Send("110 " + testPassword + "\r\n")
	c.Expect("120 id")
	c.Send("120 crlf-1\r\n")
	c.ExpectConnected()
	line := c.ReadLine()
	require.True(t, strings.HasPrefix(line, "100 "))
	c.Send(line + "\r\n")
	c.EchoKeepAlive() // the CRLF echo was accepted: the next one comes
}

// The whole pipelined handshake, split in two at every byte boundary, must
// register the client every time.
func TestInputSplitAtEveryByte(t *testing.T) {
	srv := startServer(t)
	wire := "110 " + testPassword + "\r\n120 split-x\n"
	for i := 1; i < len(wire); i++ {
		c := srv.dial(t)
		c.Send(wire[:i])
		// Let the first part land in its own read before the rest.
		c.Expect("110 password")
		c.Send(wire[i:])
		c.Expect("120 id")
		assert.NotZero(t, c.ExpectConnected(), "split at %d", i)
		_ = c.Conn.Close()
	}
}

func TestKeepAlivesOverSeveralIntervals(t *testing.T) {
	srv := startServer(t, WithKeepAlive(30*time.Millisecond, time.Second))
	c := srv.connect(t, "ka-1")
	before, _ := srv.reg.Get("ka-1")
	seen := map[string]bool{}
	for range 5 {
		tok := c.EchoKeepAlive()
		assert.False(t, seen[tok], "token %s repeated", tok)
		seen[tok] = true
	}
	eventually(t, func() bool {
		r, _ := srv.reg.Get("ka-1")
		return r.LastSeen.After(before.LastSeen)
	}, "last_seen follows the echoes")
	rec, _ := srv.reg.Get("ka-1")
	assert.True(t, rec.CStatus)
}

func TestAuthFailed(t *testing.T) {
	srv := startServer(t)
	c := srv.dial(t)
	c.Expect("110 password")
	c.Send("110 wrong\n")
	c.ExpectClosed(closeLine(protocol.ReasonAuthFailed))
}

// "110 " is a password of no bytes: wrong, like any other outside the
// field rule (PROTOCOL.md's framing: ARG is the rest of the line).
func TestEmptyPasswordIsAuthFailed(t *testing.T) {
	srv := startServer(t)
	for _, wire := range []string{"110 \n", "110 \r\n"} {
		c := srv.dial(t)
		c.Send(wire)
		c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
	}
}

func TestPasswordOverFieldLimitIsAuthFailed(t *testing.T) {
	srv := startServer(t)
	c := srv.dial(t)
	c.Send("110 " + strings.Repeat("p", protocol.MaxPassword+1) + "\n")
	c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
}

func TestSecondPasswordAllowsRotation(t *testing.T) {
	srv := startServer(t, WithPasswords([][]byte{[]byte("old"), []byte(testPassword)}))
	c := srv.dial(t)
	assert.NotZero(t, c.Handshake(testPassword, "rot-1"))
	c2 := srv.dial(t)
	c2.Send("110 old\n120 rot-2\n")
	c2.Expect("110 password")
	c2.Expect("120 id")
	assert.NotZero(t, c2.ExpectConnected())
}

func TestBadID(t *testing.T) {
	srv := startServer(t)
	for _, id := range []string{"has space", "slash/no", strings.Repeat("x", protocol.MaxClientID+1), "\xc3\xa4", ""} {
		c := srv.dial(t)
		c.Send("110 " + testPassword + "\n120 " + id + "\n")
		c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonBadID))
	}
}

// Each form of "protocol error" listed in docs/protocol.md.
func TestProtocolErrors(t *testing.T) {
	srv := startServer(t, WithKeepAlive(30*time.Millisecond, time.Second))
	pe := closeLine(protocol.ReasonProtocolError)

	for _, tc := range []struct {
		name, id string // id: register as id first ("" stays in the handshake)
		send     string
		want     []string // the lines before the close
	}{
		{name: "wrong code for password", send: "120 early-id\n", want: []string{"110 password", pe}},
		{name: "wrong code for id", send: "110 " + testPassword + "\n110 again\n", want: []string{"110 password", "120 id", pe}},
		{name: "code alone for password", send: "110\n", want: []string{"110 password", pe}},
		{name: "code alone for id", send: "110 " + testPassword + "\n120\n", want: []string{"110 password", "120 id", pe}},
		{name: "empty keep-alive echo", id: "pe-empty", send: "100 \n", want: []string{pe}},
		{name: "empty shutdown ack", id: "pe-empty-ack", send: "130 \n", want: []string{pe}},
		{name: "keep-alive before registration", send: "100 1\n", want: []string{"110 password", pe}},
		{name: "keep-alive echo with none outstanding", id: "pe-none", send: "100 1\n", want: []string{pe}},
		{name: "shutdown ack with no shutdown pending", id: "pe-ack", send: "130 ok\n", want: []string{pe}},
		{name: "unknown code after registration", id: "pe-unknown", send: "999 what\n", want: []string{pe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := srv.dial(t)
			if tc.id != "" {
				c.Handshake(testPassword, tc.id)
			}
			c.Send(tc.send)
			c.ExpectClosed(tc.want...)
		})
	}
	t.Run("wrong token", func(t *testing.T) {
		c := srv.connect(t, "pe-token")
		line := c.ReadLine()
		tok, err := protocol.ParseToken([]byte(strings.TrimPrefix(line, "100 ")))
		require.NoError(t, err)
		c.Send(string(protocol.AppendKeepAlive(nil, tok+1)))
		c.ExpectClosed(pe)
	})
	t.Run("non-canonical token", func(t *testing.T) {
		c := srv.connect(t, "pe-zero")
		line := c.ReadLine()
		c.Send("100 0" + strings.TrimPrefix(line, "100 ") + "\n")
		c.ExpectClosed(pe)
	})
}

// Every invalid golden vector, sent by a registered client, gets the close
// reason the codec assigns to it; so does each valid vector that is not an
// answer the server waits for.
func TestGoldenLinesAfterRegistration(t *testing.T) {
	srv := startServer(t)
	for i, g := range protocol.GoldenLines {
		if g.Partial() {
			continue
		}
		t.Run(g.Name, func(t *testing.T) {
			c := srv.connect(t, "golden-"+strings.Repeat("g", i%3)+string(rune('a'+i%26))+"-"+itoa(i))
			c.Send(g.Wire)
			want := protocol.ReasonProtocolError
			if g.Err != nil {
				want = protocol.ReasonFor(g.Err)
			}
			c.ExpectClosed(closeLine(want))
		})
	}
}

func TestLineTooLong(t *testing.T) {
	srv := startServer(t)
	t.Run("over the limit with LF", func(t *testing.T) {
		c := srv.dial(t)
		c.Send("110 " + strings.Repeat("a", protocol.MaxLine) + "\n")
		c.ExpectClosed("110 password", closeLine(protocol.ReasonLineTooLong))
	})
	t.Run("limit reached without LF, sent in small pieces", func(t *testing.T) {
		c := srv.dial(t)
		c.Expect("110 password")
		c.Send("110 ") // a line that may yet be one: not refused as malformed
		for range protocol.MaxLine / 64 {
			c.Send(strings.Repeat("b", 64))
		}
		c.ExpectClosed(closeLine(protocol.ReasonLineTooLong))
	})
	t.Run("junk without LF is refused at once, not at the handshake's timeout", func(t *testing.T) {
		c := srv.dial(t)
		c.Expect("110 password")
		c.Send("110 s3c\x00") // no LF: it used to wait for one (found by the wire audit)
		c.ExpectClosed(closeLine(protocol.ReasonProtocolError))
	})
	t.Run("exactly the limit is fine", func(t *testing.T) {
		c := srv.dial(t)
		c.Send("110 " + strings.Repeat("a", protocol.MaxLine-len("110 \n")) + "\n")
		c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
	})
}

func TestHandshakeTimeout(t *testing.T) {
	srv := startServer(t, WithHandshakeTimeout(100*time.Millisecond))
	t.Run("silent", func(t *testing.T) {
		c := srv.dial(t)
		c.ExpectClosed("110 password", closeLine(protocol.ReasonHandshakeTimeout))
	})
	t.Run("password but no id", func(t *testing.T) {
		c := srv.dial(t)
		c.Send("110 " + testPassword + "\n")
		c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonHandshakeTimeout))
	})
}

func TestKeepaliveTimeout(t *testing.T) {
	srv := startServer(t, WithKeepAlive(30*time.Millisecond, 60*time.Millisecond))
	c := srv.connect(t, "ka-silent")
	c.EchoKeepAlive()
	line := c.ReadLine()
	require.True(t, strings.HasPrefix(line, "100 "))
	c.ExpectClosed(closeLine(protocol.ReasonKeepaliveTimeout))
	srv.waitDisconnected(t, "ka-silent", protocol.ReasonKeepaliveTimeout)
}

func TestTakeoverReplacesOlderConnection(t *testing.T) {
	srv := startServer(t)
	old := srv.dial(t)
	oldSID := old.Handshake(testPassword, "dup-1")
	newer := srv.dial(t)
	newSID := newer.Handshake(testPassword, "dup-1")
	assert.NotEqual(t, oldSID, newSID)
	old.ExpectClosed(closeLine(protocol.ReasonReplaced))

	rec, ok := srv.reg.Get("dup-1")
	require.True(t, ok)
	assert.True(t, rec.CStatus, "the newer connection stays")
	assert.Equal(t, newSID, rec.SID)
	connected, total := srv.reg.Counts()
	assert.Equal(t, 1, connected)
	assert.Equal(t, 1, total)
}

func TestServerFull(t *testing.T) {
	t.Run("max clients", func(t *testing.T) {
		core, logs := observer.New(zap.WarnLevel)
		srv := startServerWithRegistry(t, newRegistryMax(2), WithLogger(zap.New(core)))
		srv.dial(t).Handshake(testPassword, "full-1")
		srv.dial(t).Handshake(testPassword, "full-2")
		require.NoError(t, srv.RegistryFullErr(), "full, but no one refused yet")
		c := srv.dial(t)
		c.Send("110 " + testPassword + "\n120 full-3\n")
		c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonServerFull))
		// The note of /readyz and /v1/health: it said "ready" alone (scale audit).
		note := srv.RegistryFullErr()
		require.Error(t, note)
		assert.Contains(t, note.Error(), "clients: the registry is full (--max-clients): registrations get `190 server full` since ")
		// Said once a minute at warn, so a fleet turned away is in the log
		// however quiet it is kept.
		for range 2 {
			c := srv.dial(t)
			c.Send("110 " + testPassword + "\n120 full-3\n")
			c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonServerFull))
		}
		said := logs.FilterMessageSnippet("registry full").All()
		require.Len(t, said, 1)
		assert.Equal(t, zap.WarnLevel, said[0].Level)
		// A registered client can still take itself over when full.
		again := srv.dial(t)
		assert.NotZero(t, again.Handshake(testPassword, "full-1"))
	})
	t.Run("connection ceiling", func(t *testing.T) {
		srv := startServer(t, WithMaxConns(2))
		a, b := srv.dial(t), srv.dial(t)
		a.Expect("110 password")
		b.Expect("110 password")
		c := srv.dial(t)
		c.ExpectClosed(closeLine(protocol.ReasonServerFull))
		_ = a.Conn.Close()
		eventually(t, func() bool { return srv.Connections() == 1 }, "a's slot freed")
		srv.dial(t).Expect("110 password")
	})
}

// TestConnectionCeilingIsLogged: the ceiling's refusals were only counted,
// so a fleet that outgrew the open-files limit was turned away without a
// line in the log. The first refusal of a filling is logged, once however
// many follow, and its end once a tenth of the ceiling is free.
func TestConnectionCeilingIsLogged(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	srv := startServer(t, WithMaxConns(2), WithLogger(zap.New(core)))
	a, b := srv.dial(t), srv.dial(t)
	a.Expect("110 password")
	b.Expect("110 password")
	for range 3 {
		srv.dial(t).ExpectClosed(closeLine(protocol.ReasonServerFull))
	}
	full := logs.FilterMessageSnippet("connection ceiling reached").All()
	require.Len(t, full, 1, "the filling is logged once")
	assert.Equal(t, zap.WarnLevel, full[0].Level)
	assert.EqualValues(t, 2, full[0].ContextMap()["max_connections"])
	_ = a.Conn.Close()
	eventually(t, func() bool { return logs.FilterMessageSnippet("connection ceiling has room again").Len() == 1 }, "its end is logged")
}
