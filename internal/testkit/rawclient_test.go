package testkit

import (
	"bufio"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A scripted peer on a real listener: it prompts, reads the answers,
// sends a keep-alive, checks the echo, then says goodbye and closes.
func TestRawClientHandshakeKeepAliveAndClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var lines []string
		read := func() { l, _ := r.ReadString('\n'); lines = append(lines, l) }
		_, _ = c.Write([]byte("110 password\n"))
		read()
		_, _ = c.Write([]byte("120 id\n"))
		read()
		_, _ = c.Write([]byte("140 connected 42\n100 7\n"))
		read()
		_, _ = c.Write([]byte("190 bye\n"))
		got <- lines
	}()

	c := Dial(t, ln.Addr().String())
	assert.Equal(t, uint16(42), c.Handshake("pw", "dev-1"))
	assert.Equal(t, "100 7", c.EchoKeepAlive())
	c.ExpectClosed("190 bye")
	assert.Equal(t, []string{"110 pw\n", "120 dev-1\n", "100 7\n"}, <-got)
}

// With AnswerKeepAlives a read echoes keep-alives and returns the next
// other line.
func TestRawClientAnswersKeepAlivesWhenAsked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	echoed := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			echoed <- ""
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("100 9\n130 shutdown now\n"))
		l, _ := bufio.NewReader(c).ReadString('\n')
		echoed <- l
	}()
	c := Dial(t, ln.Addr().String())
	c.AnswerKeepAlives = true
	c.Expect("130 shutdown now")
	assert.Equal(t, "100 9\n", <-echoed)
}
