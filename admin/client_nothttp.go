package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
)

// ErrNotHTTP is an address that answered, but not in HTTP: most often
// cliser's own protocol port, which greets every connection with
// "110 password" before it is asked anything. The CLI said "is `cliser
// serve` running?" of a server that was, and quoted net/http's insides
// ("readLoopPeekFailLocked: %!w(<nil>)"), with a stray "Unsolicited
// response received on idle HTTP channel" log line (CLI audit).
var ErrNotHTTP = errors.New("it answers, but not in HTTP: cliser's protocol port (--listen) does so, with \"110 password\"; " +
	"the admin API is at the server's --admin-listen (default 127.0.0.1:7071)")

// notHTTP is err, or ErrNotHTTP when net/http could not read the answer
// as HTTP. net/http exports no type for it: its text is all there is.
func notHTTP(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "malformed HTTP") || strings.Contains(msg, "readLoopPeekFailLocked") ||
		strings.Contains(msg, "first record does not look like a TLS handshake") { // https:// at a plain port
		return ErrNotHTTP
	}
	return err
}

// newTransport is http.DefaultTransport's settings with connections that
// read nothing before their first write: a server that speaks first (the
// protocol port's "110 password") is then read as a malformed answer to
// the request (ErrNotHTTP), not logged by net/http as unsolicited.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &writeFirstConn{Conn: c, wrote: make(chan struct{})}, nil
	}
	return t
}

// writeFirstConn holds its reads until its first write (or its close).
type writeFirstConn struct {
	net.Conn
	once  sync.Once
	wrote chan struct{}
}

func (c *writeFirstConn) open() { c.once.Do(func() { close(c.wrote) }) }

func (c *writeFirstConn) Write(b []byte) (int, error) {
	c.open()
	return c.Conn.Write(b)
}

func (c *writeFirstConn) Read(b []byte) (int, error) {
	<-c.wrote
	return c.Conn.Read(b)
}

func (c *writeFirstConn) Close() error {
	c.open()
	return c.Conn.Close()
}
