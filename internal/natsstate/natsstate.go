// Package natsstate tells whether a NATS connection is up, and how often
// it was made again, from nats.go's handlers instead of its Status and
// Stats. Those take the connection's lock, which nats.go holds through
// each reconnect attempt: against a server that accepts and never answers
// (frozen by SIGSTOP, a hung host) that is up to its 2 s dial timeout a
// try, and a health probe, a scrape or an identity write waited it out.
// nats.go also counts a reconnect once the TCP connect succeeds, before
// the server answers, so a frozen server's accepts read as reconnects;
// here one counts once the server answered.
package natsstate

import (
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// State is one connection's state as its handlers last reported it. Its
// methods are safe from any goroutine and never wait.
type State struct {
	once       sync.Once
	up         atomic.Int32 // unknown, then upYes or upNo
	closed     atomic.Bool
	reconnects atomic.Uint64
}

const (
	upUnknown int32 = iota
	upYes
	upNo
)

// followed holds each connection's State until its ClosedHandler runs.
var followed sync.Map // *nats.Conn → *State

// Of is nc's State, followed from the first call on: make that call as
// soon as nc is connected, before any other goroutine uses nc (it chains
// onto nc's disconnect, reconnect and closed handlers, which must not be
// replaced after). Not for a connection made with RetryOnFailedConnect or
// the deprecated DisconnectedCB: neither is followed. Safe from any
// goroutine.
func Of(nc *nats.Conn) *State {
	v, _ := followed.LoadOrStore(nc, &State{})
	s := v.(*State)
	s.once.Do(func() { s.follow(nc) })
	return s
}

// follow chains onto nc's handlers, then takes nc's status as the start
// unless a handler has reported since.
func (s *State) follow(nc *nats.Conn) {
	lost, back, closed := nc.DisconnectErrHandler(), nc.ReconnectHandler(), nc.ClosedHandler()
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		s.up.Store(upNo)
		if lost != nil {
			lost(c, err)
		}
	})
	nc.SetReconnectHandler(func(c *nats.Conn) {
		s.reconnects.Add(1)
		s.up.Store(upYes)
		if back != nil {
			back(c)
		}
	})
	nc.SetClosedHandler(func(c *nats.Conn) {
		s.markClosed(c)
		if closed != nil {
			closed(c)
		}
	})
	switch nc.Status() {
	case nats.CONNECTED:
		s.up.CompareAndSwap(upUnknown, upYes)
	case nats.CLOSED:
		s.markClosed(nc)
	default:
		s.up.CompareAndSwap(upUnknown, upNo)
	}
}

func (s *State) markClosed(nc *nats.Conn) {
	s.up.Store(upNo)
	s.closed.Store(true)
	followed.Delete(nc)
}

// Connected reports whether the connection is up: connected, or made
// again and answered by a server since it was last lost.
func (s *State) Connected() bool { return s.up.Load() == upYes }

// Closed reports whether the connection is closed for good.
func (s *State) Closed() bool { return s.closed.Load() }

// Reconnects is how many times the connection was made again, and a
// server answered, since it was followed.
func (s *State) Reconnects() uint64 { return s.reconnects.Load() }

// String is the state in a word for messages: connected, reconnecting
// or closed.
func (s *State) String() string {
	switch {
	case s.Closed():
		return "closed"
	case s.Connected():
		return "connected"
	}
	return "reconnecting"
}
