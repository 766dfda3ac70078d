package load

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/cliser/cliser/protocol"
)

// Error kinds, the keys of Stats.Errors. A server's "190 <reason>" counts as
// "190 <reason>" with its text, so a refused password shows as
// "190 auth failed".
const (
	KindHandshakeTimeout = "handshake timeout (client side)"
	KindEOFHandshake     = "closed without 190 during handshake"
	KindEOFRegistered    = "closed without 190 while registered"
	KindReadError        = "read error"
	KindWriteError       = "write error"
	KindGarbage          = "garbage from server"
	KindUnexpectedLine   = "unexpected line from server"
	KindNoCloseAfterAck  = "no close after 130 ok"
	KindProbeAnswer      = "probe: server did not answer the duplicate echo with 190 protocol error"
)

// kindOf190 names a server's close.
func kindOf190(arg []byte) string { return "190 " + string(arg) }

// dialKind names a failed connect by its cause, so that "out of ports" and
// "server not accepting" read differently in a report.
func dialKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "dial: connection refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "dial: no free local port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "dial: too many open files"
	case errors.Is(err, syscall.ECONNRESET):
		return "dial: connection reset"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "dial: timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "dial: timeout"
	}
	if errors.Is(err, syscall.ETIMEDOUT) {
		return "dial: timeout"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return "dial: " + errno.Error()
	}
	return "dial: other"
}

// readKind names a failed read: a timeout, the server's close, or a fault.
func readKind(err error, registered bool) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if registered {
			return KindNoCloseAfterAck
		}
		return KindHandshakeTimeout
	case isEOF(err):
		if registered {
			return KindEOFRegistered
		}
		return KindEOFHandshake
	}
	return KindReadError
}

func isEOF(err error) bool {
	return errors.Is(err, errEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// reasonIs reports whether a 190's argument is reason r.
func reasonIs(arg []byte, r protocol.Reason) bool { return string(arg) == r.String() }
