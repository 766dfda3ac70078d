package client

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scriptedServer is a real TCP server on 127.0.0.1 whose every accepted
// connection runs a script: the test says line by line what the server
// sends and expects. It stands in for the reactor in tests of the client's
// own rules (including servers that misbehave on purpose).
type scriptedServer struct {
	t      *testing.T
	ln     net.Listener
	script func(*scriptConn)

	mu       sync.Mutex
	conns    []*scriptConn
	accepted int
	wg       sync.WaitGroup
}

func newScriptedServer(t *testing.T, script func(*scriptConn)) *scriptedServer {
	t.Helper()
	return startScriptedServer(t, "127.0.0.1:0", script)
}

func startScriptedServer(t *testing.T, addr string, script func(*scriptConn)) *scriptedServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	return serveScript(t, ln, script)
}

// serveScript runs script on every connection ln accepts.
func serveScript(t *testing.T, ln net.Listener, script func(*scriptConn)) *scriptedServer {
	t.Helper()
	s := &scriptedServer{t: t, ln: ln, script: script}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.stop)
	return s
}

func (s *scriptedServer) addr() string { return s.ln.Addr().String() }

func (s *scriptedServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		sc := &scriptConn{nc: nc, r: bufio.NewReader(nc), t: s.t}
		s.mu.Lock()
		s.conns = append(s.conns, sc)
		s.accepted++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer nc.Close()
			s.script(sc)
		}()
	}
}

// acceptedCount is how many connections came in so far.
func (s *scriptedServer) acceptedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// stop closes the listener and every connection, and waits for the scripts.
func (s *scriptedServer) stop() {
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// scriptConn is the server's end of one connection.
type scriptConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

// readLine reads one line (without LF) within 5s; ok is false on EOF,
// error or timeout.
func (c *scriptConn) readLine() (string, bool) {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(s, "\n"), true
}

func (c *scriptConn) send(s string) bool {
	_, err := c.nc.Write([]byte(s))
	return err == nil
}

// handshake reads both pipelined answers before it sends anything (a
// client that waited for the prompts would hang here), then sends the
// prompts and "140 connected <sid>". It returns the two answers.
func (c *scriptConn) handshake(sid string) (pw, id string, ok bool) {
	pw, ok1 := c.readLine()
	id, ok2 := c.readLine()
	if !ok1 || !ok2 {
		return pw, id, false
	}
	ok = c.send("110 password\n120 id\n140 connected " + sid + "\n")
	return pw, id, ok
}

// waitEOF reads until the client closes; false if it did not within 5s.
func (c *scriptConn) waitEOF() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for {
		_, err := c.r.Read(buf)
		if err != nil {
			ne, isNet := err.(net.Error)
			return !(isNet && ne.Timeout())
		}
	}
}

// afterHandshake is a script that answers the handshake with sid and,
// when that went through, goes on with then.
func afterHandshake(sid string, then func(c *scriptConn)) func(*scriptConn) {
	return func(c *scriptConn) {
		if _, _, ok := c.handshake(sid); ok {
			then(c)
		}
	}
}
