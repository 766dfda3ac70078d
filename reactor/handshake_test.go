package reactor

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
