package benchtest

import (
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// Reactor starts cliser's reactor over reg on 127.0.0.1:0, taking
// password, with opts applied after those; it is stopped when the test
// ends.
func Reactor(t testing.TB, reg *registry.Registry, password string, opts ...reactor.Option) *reactor.Server {
	t.Helper()
	opts = append([]reactor.Option{reactor.WithAddr("127.0.0.1:0"), reactor.WithPasswords([][]byte{[]byte(password)})}, opts...)
	srv, err := reactor.New(reg, opts...)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	testkit.StopAtEnd(t, srv.Stop)
	return srv
}

// Listener accepts on 127.0.0.1:0 and hands each connection to handle on
// a goroutine of its own, which closes it after; it returns the address.
// The listener closes, and every handler is waited for, when the test ends.
func Listener(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}
