package reactor

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

func TestAuthFailed(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv.Addr())
	c.expect("110 password")
	c.send("110 wrong\n")
	c.expectClosed(closeLine(protocol.ReasonAuthFailed))
}

func TestPasswordOverFieldLimitIsAuthFailed(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv.Addr())
	c.send("110 " + strings.Repeat("p", protocol.MaxPassword+1) + "\n")
	c.expectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
}

func TestSecondPasswordAllowsRotation(t *testing.T) {
	srv := startServer(t, WithPasswords([][]byte{[]byte("old"), []byte(testPassword)}))
	c := dial(t, srv.Addr())
	assert.NotZero(t, c.handshake("rot-1"))
	c2 := dial(t, srv.Addr())
	c2.send("110 old\n120 rot-2\n")
	c2.expect("110 password")
	c2.expect("120 id")
	assert.NotZero(t, c2.expectConnected())
}

func TestBadID(t *testing.T) {
	srv := startServer(t)
	for _, id := range []string{"has space", "slash/no", strings.Repeat("x", protocol.MaxClientID+1), "\xc3\xa4"} {
		c := dial(t, srv.Addr())
		c.send("110 " + testPassword + "\n120 " + id + "\n")
		c.expectClosed("110 password", "120 id", closeLine(protocol.ReasonBadID))
	}
}

// Each form of "protocol error" listed in PROTOCOL.md.
func TestProtocolErrors(t *testing.T) {
	srv := startServer(t, WithKeepAlive(30*time.Millisecond, time.Second))
	pe := closeLine(protocol.ReasonProtocolError)

	t.Run("wrong code for password", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("120 early-id\n")
		c.expectClosed("110 password", pe)
	})
	t.Run("wrong code for id", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("110 " + testPassword + "\n110 again\n")
		c.expectClosed("110 password", "120 id", pe)
	})
	t.Run("code alone for password", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("110\n")
		c.expectClosed("110 password", pe)
	})
	t.Run("keep-alive before registration", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("100 1\n")
		c.expectClosed("110 password", pe)
	})
	t.Run("keep-alive echo with none outstanding", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.handshake("pe-none")
		c.send("100 1\n")
		c.expectClosed(pe)
	})
	t.Run("wrong token", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.handshake("pe-token")
		line := c.readLine()
		tok, err := protocol.ParseToken([]byte(strings.TrimPrefix(line, "100 ")))
		require.NoError(t, err)
		c.send(string(protocol.AppendKeepAlive(nil, tok+1)))
		c.expectClosed(pe)
	})
	t.Run("non-canonical token", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.handshake("pe-zero")
		line := c.readLine()
		c.send("100 0" + strings.TrimPrefix(line, "100 ") + "\n")
		c.expectClosed(pe)
	})
	t.Run("shutdown ack with no shutdown pending", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.handshake("pe-ack")
		c.send("130 ok\n")
		c.expectClosed(pe)
	})
	t.Run("unknown code after registration", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.handshake("pe-unknown")
		c.send("999 what\n")
		c.expectClosed(pe)
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
			c := dial(t, srv.Addr())
			c.handshake("golden-" + strings.Repeat("g", i%3) + string(rune('a'+i%26)) + "-" + itoa(i))
			c.send(g.Wire)
			want := protocol.ReasonProtocolError
			if g.Err != nil {
				want = protocol.ReasonFor(g.Err)
			}
			c.expectClosed(closeLine(want))
		})
	}
}

func TestLineTooLong(t *testing.T) {
	srv := startServer(t)
	t.Run("over the limit with LF", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("110 " + strings.Repeat("a", protocol.MaxLine) + "\n")
		c.expectClosed("110 password", closeLine(protocol.ReasonLineTooLong))
	})
	t.Run("limit reached without LF, sent in small pieces", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.expect("110 password")
		for range protocol.MaxLine / 64 {
			c.send(strings.Repeat("b", 64))
		}
		c.expectClosed(closeLine(protocol.ReasonLineTooLong))
	})
	t.Run("exactly the limit is fine", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("110 " + strings.Repeat("a", protocol.MaxLine-len("110 \n")) + "\n")
		c.expectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
	})
}

func TestHandshakeTimeout(t *testing.T) {
	srv := startServer(t, WithHandshakeTimeout(100*time.Millisecond))
	t.Run("silent", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.expectClosed("110 password", closeLine(protocol.ReasonHandshakeTimeout))
	})
	t.Run("password but no id", func(t *testing.T) {
		c := dial(t, srv.Addr())
		c.send("110 " + testPassword + "\n")
		c.expectClosed("110 password", "120 id", closeLine(protocol.ReasonHandshakeTimeout))
	})
}

func TestKeepaliveTimeout(t *testing.T) {
	srv := startServer(t, WithKeepAlive(30*time.Millisecond, 60*time.Millisecond))
	c := dial(t, srv.Addr())
	c.handshake("ka-silent")
	c.echoKeepAlive()
	line := c.readLine()
	require.True(t, strings.HasPrefix(line, "100 "))
	c.expectClosed(closeLine(protocol.ReasonKeepaliveTimeout))
	eventually(t, func() bool {
		r, _ := srv.reg.Get("ka-silent")
		return !r.CStatus && r.Reason == protocol.ReasonKeepaliveTimeout
	}, "record says keepalive timeout")
}

func TestTakeoverReplacesOlderConnection(t *testing.T) {
	srv := startServer(t)
	old := dial(t, srv.Addr())
	oldSID := old.handshake("dup-1")
	newer := dial(t, srv.Addr())
	newSID := newer.handshake("dup-1")
	assert.NotEqual(t, oldSID, newSID)
	old.expectClosed(closeLine(protocol.ReasonReplaced))

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
		srv := startServerWithRegistry(t, newRegistryMax(2))
		dial(t, srv.Addr()).handshake("full-1")
		dial(t, srv.Addr()).handshake("full-2")
		c := dial(t, srv.Addr())
		c.send("110 " + testPassword + "\n120 full-3\n")
		c.expectClosed("110 password", "120 id", closeLine(protocol.ReasonServerFull))
		// A registered client can still take itself over when full.
		again := dial(t, srv.Addr())
		assert.NotZero(t, again.handshake("full-1"))
	})
	t.Run("connection ceiling", func(t *testing.T) {
		srv := startServer(t, WithMaxConns(2))
		a, b := dial(t, srv.Addr()), dial(t, srv.Addr())
		a.expect("110 password")
		b.expect("110 password")
		c := dial(t, srv.Addr())
		c.expectClosed(closeLine(protocol.ReasonServerFull))
		_ = a.conn.Close()
		eventually(t, func() bool { return srv.Connections() == 1 }, "a's slot freed")
		dial(t, srv.Addr()).expect("110 password")
	})
}
