package reactor

import (
	"time"

	"github.com/cliser/cliser/protocol"
)

// Observer receives the reactor's events, for metrics. Its methods are
// called on event loops, several at once: they must be safe for concurrent
// use and must not block.
type Observer interface {
	// Handshake reports a finished handshake: ReasonNone when the client
	// registered, else why it was refused.
	Handshake(result protocol.Reason)
	// Disconnected reports the end of a registered connection.
	Disconnected(reason protocol.Reason)
	// KeepAliveRTT reports the time from sending a keep-alive to its echo.
	KeepAliveRTT(d time.Duration)
	// ShutdownSent and ShutdownAcked count 130 orders and their "130 ok".
	ShutdownSent()
	ShutdownAcked()
	// Rejected reports a connection refused before its handshake began
	// (server full, server shutting down, too many attempts, a banned
	// address, an untrusted PROXY sender; behind a PROXY header, the
	// address it names refused likewise).
	Rejected(reason protocol.Reason)
}

// CapObserver is an Observer that also counts the connections the per-IP
// handshake cap (WithMaxHandshakesPerIP) refused. The wire says "server
// full" for them, as for the connection ceiling: apart, a dashboard tells
// one address's burst (a site behind one NAT) from a full server. An
// Observer without it is not told. Same rules as Observer.
type CapObserver interface {
	PerIPCapped()
}

type nopObserver struct{}

func (nopObserver) Handshake(protocol.Reason)    {}
func (nopObserver) Disconnected(protocol.Reason) {}
func (nopObserver) KeepAliveRTT(time.Duration)   {}
func (nopObserver) ShutdownSent()                {}
func (nopObserver) ShutdownAcked()               {}
func (nopObserver) Rejected(protocol.Reason)     {}
