package baseline_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/baseline"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

func TestHappyPathRegistersDesignNoteFields(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.srv.Addr())
	before := time.Now()
	sid := c.Handshake(testPassword, "pos-0042")

	require.NotZero(t, sid)
	rec, ok := ts.reg.Get("pos-0042")
	require.True(t, ok)
	assert.Equal(t, sid, rec.SID)
	assert.Equal(t, "pos-0042", rec.CID)
	assert.Equal(t, "127.0.0.1", rec.CIP)
	assert.Equal(t, c.localPort(), rec.CPort)
	assert.True(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonNone, rec.Reason)
	assert.False(t, rec.ConnectedAt.Before(before.Add(-time.Second)))
	connected, total := ts.reg.Counts()
	assert.Equal(t, 1, connected)
	assert.Equal(t, 1, total)
}

func TestPipelinedHandshakeTakesOneRoundTrip(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.srv.Addr())
	c.Send("110 " + testPassword + "\n120 pipelined\n")
	c.Expect("110 password")
	c.Expect("120 id")
	sid := c.ExpectConnected()
	rec, ok := ts.reg.Get("pipelined")
	require.True(t, ok)
	require.True(t, rec.CStatus)
	require.Equal(t, sid, rec.SID)
}

func TestCRLFLinesWork(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.KeepAliveInterval = 30 * time.Millisecond
	})
	c := dial(t, ts.srv.Addr())
	c.Expect("110 password")
	c.Send("110 " + testPassword + "\r\n")
	c.Expect("120 id")
	c.Send("120 crlf\r\n")
	c.ExpectConnected()
	tok := c.expectKeepAlive()
	c.Send("100 " + formatToken(tok) + "\r\n")
	c.expectKeepAlive() // the echo was accepted: the next keep-alive comes
	rec, _ := ts.reg.Get("crlf")
	require.True(t, rec.CStatus)
}

func TestSeveralPasswordsAreAccepted(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.Passwords = [][]byte{[]byte("old-one"), []byte(testPassword)}
	})
	for _, pw := range []string{"old-one", testPassword} {
		c := dial(t, ts.srv.Addr())
		c.Send("110 " + pw + "\n120 rotating\n")
		c.Expect("110 password")
		c.Expect("120 id")
		c.ExpectConnected()
	}
}

func TestHandshakeErrors(t *testing.T) {
	tests := []struct {
		name    string
		send    string
		prompts []string // the lines before the 190
		want    protocol.Reason
	}{
		{"wrong password", "110 wrong\n", []string{"110 password"}, protocol.ReasonAuthFailed},
		{"prefix of the password", "110 s3cre\n", []string{"110 password"}, protocol.ReasonAuthFailed},
		{"password alone", "110\n", []string{"110 password"}, protocol.ReasonProtocolError},
		{"password over 256 bytes", "110 " + strings.Repeat("p", protocol.MaxPassword+1) + "\n", []string{"110 password"}, protocol.ReasonAuthFailed},
		{"id before password", "120 pos-1\n", []string{"110 password"}, protocol.ReasonProtocolError},
		{"keep-alive before password", "100 1\n", []string{"110 password"}, protocol.ReasonProtocolError},
		{"shutdown ack before password", "130 ok\n", []string{"110 password"}, protocol.ReasonProtocolError},
		{"password twice", "110 " + testPassword + "\n110 " + testPassword + "\n", []string{"110 password", "120 id"}, protocol.ReasonProtocolError},
		{"bad id characters", "110 " + testPassword + "\n120 bad id!\n", []string{"110 password", "120 id"}, protocol.ReasonBadID},
		{"id over 64 characters", "110 " + testPassword + "\n120 " + strings.Repeat("i", protocol.MaxClientID+1) + "\n", []string{"110 password", "120 id"}, protocol.ReasonBadID},
		{"id alone", "110 " + testPassword + "\n120\n", []string{"110 password", "120 id"}, protocol.ReasonProtocolError},
		{"line too long", "110 " + strings.Repeat("a", protocol.MaxLine) + "\n", []string{"110 password"}, protocol.ReasonLineTooLong},
		{"malformed", "11O s3cret\n", []string{"110 password"}, protocol.ReasonProtocolError},
	}
	ts := startServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, ts.srv.Addr())
			c.Send(tt.send)
			for _, p := range tt.prompts {
				c.Expect(p)
			}
			c.expectClose(tt.want)
		})
	}
	connected, total := ts.reg.Counts()
	assert.Zero(t, connected)
	assert.Zero(t, total, "a failed handshake leaves no record")
}

func TestHandshakeTimeout(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.HandshakeTimeout = 100 * time.Millisecond
	})
	t.Run("nothing sent", func(t *testing.T) {
		c := dial(t, ts.srv.Addr())
		c.Expect("110 password")
		c.expectClose(protocol.ReasonHandshakeTimeout)
	})
	t.Run("password but no id", func(t *testing.T) {
		c := dial(t, ts.srv.Addr())
		c.Expect("110 password")
		c.Send("110 " + testPassword + "\n")
		c.Expect("120 id")
		c.expectClose(protocol.ReasonHandshakeTimeout)
	})
	t.Run("half a line", func(t *testing.T) {
		c := dial(t, ts.srv.Addr())
		c.Send("110 s3c")
		c.Expect("110 password")
		c.expectClose(protocol.ReasonHandshakeTimeout)
	})
	t.Run("registered in time then no timeout", func(t *testing.T) {
		ts.connect(t, "in-time")
		// Outlive the handshake timeout several times, then check the
		// session is still alive: the registry still holds it connected.
		deadline := time.Now().Add(400 * time.Millisecond)
		require.Never(t, func() bool {
			rec, _ := ts.reg.Get("in-time")
			return !rec.CStatus
		}, time.Until(deadline), 20*time.Millisecond)
	})
}

func TestServerFullFromRegistry(t *testing.T) {
	ts := startServer(t, nil, registry.WithMaxClients(1))
	first := ts.connect(t, "first")
	second := dial(t, ts.srv.Addr())
	second.Send("110 " + testPassword + "\n120 second\n")
	second.Expect("110 password")
	second.Expect("120 id")
	second.expectClose(protocol.ReasonServerFull)
	_, ok := ts.reg.Get("second")
	assert.False(t, ok, "a client refused for lack of room has no record")

	// The full registry still lets a client replace itself (takeover).
	ts.connect(t, "first")
	first.expectClose(protocol.ReasonReplaced)
}

func TestServerFullFromConnectionCap(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) { cfg.MaxConns = 1 })
	first := dial(t, ts.srv.Addr())
	first.Expect("110 password")
	second := dial(t, ts.srv.Addr())
	second.expectClose(protocol.ReasonServerFull)
	first.Send("110 " + testPassword + "\n120 first\n")
	first.Expect("120 id")
	first.ExpectConnected()
}

func TestStartRefusesBadConfig(t *testing.T) {
	srv := baseline.New(registry.New(), baseline.Config{Addr: "127.0.0.1:0"})
	require.ErrorIs(t, srv.Start(), baseline.ErrNoPassword)

	srv = baseline.New(registry.New(), baseline.Config{Addr: "127.0.0.1:0", Passwords: [][]byte{[]byte("a\nb")}})
	require.ErrorIs(t, srv.Start(), baseline.ErrBadPassword)

	ts := startServer(t, nil)
	require.ErrorIs(t, ts.srv.Start(), baseline.ErrStarted)
}
