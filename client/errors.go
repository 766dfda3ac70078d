package client

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cliser/cliser/protocol"
)

// ClosedError says why a session ended on the server's word: the server's
// "190 <reason>" line, or (with Reason protocol.ReasonShutdown) an acked
// "130 shutdown" order.
//
// Compare with errors.Is against the sentinels below (errors.Is(err,
// client.ErrAuthFailed)), or use IsReason. Two ClosedErrors match under
// errors.Is when their Reasons are equal; Text does not take part.
type ClosedError struct {
	// Reason is the parsed reason. It is protocol.ReasonNone for a 190 text
	// this version does not know (Text still holds it).
	Reason protocol.Reason
	// Text is the reason as the server wrote it after "190 ", or the
	// operator's free text of a "130 shutdown <text>" order ("" when none).
	Text string
}

func (e *ClosedError) Error() string {
	if e.Reason == protocol.ReasonShutdown {
		if e.Text == "" {
			return "client: shutdown ordered by the server"
		}
		return "client: shutdown ordered by the server: " + strconv.Quote(e.Text)
	}
	return "client: server closed the session: " + strconv.Quote(e.Text)
}

// Is makes errors.Is(err, ErrReplaced) and friends work.
func (e *ClosedError) Is(target error) bool {
	t, ok := target.(*ClosedError)
	return ok && t.Reason == e.Reason
}

func closedBy(r protocol.Reason) *ClosedError { return &ClosedError{Reason: r, Text: r.String()} }

// Sentinels for errors.Is, one per reason a server gives with 190, plus
// ErrShutdown for a session that ended because the client acked a 130.
var (
	ErrAuthFailed         = closedBy(protocol.ReasonAuthFailed)
	ErrBadID              = closedBy(protocol.ReasonBadID)
	ErrProtocolRejected   = closedBy(protocol.ReasonProtocolError) // the server did not like one of our lines
	ErrLineTooLongRemote  = closedBy(protocol.ReasonLineTooLong)
	ErrHandshakeTimeout   = closedBy(protocol.ReasonHandshakeTimeout)
	ErrKeepaliveTimeout   = closedBy(protocol.ReasonKeepaliveTimeout)
	ErrReplaced           = closedBy(protocol.ReasonReplaced)
	ErrKicked             = closedBy(protocol.ReasonKicked)
	ErrServerFull         = closedBy(protocol.ReasonServerFull)
	ErrTooManyAttempts    = closedBy(protocol.ReasonTooManyAttempts)
	ErrBanned             = closedBy(protocol.ReasonBanned)
	ErrRevoked            = closedBy(protocol.ReasonRevoked)
	ErrServerShuttingDown = closedBy(protocol.ReasonServerShuttingDown)
	ErrShutdown           = &ClosedError{Reason: protocol.ReasonShutdown}
)

// IsReason reports whether err (or an error it wraps) is a ClosedError with
// reason r.
func IsReason(err error, r protocol.Reason) bool {
	var ce *ClosedError
	return errors.As(err, &ce) && ce.Reason == r
}

// ReasonOf returns the reason of the ClosedError in err's chain, or
// protocol.ReasonNone when the session did not end on the server's word
// (dial failure, lost connection, local close, bad server input).
func ReasonOf(err error) protocol.Reason {
	var ce *ClosedError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return protocol.ReasonNone
}

// Errors of the client side, in one place.
var (
	// ErrClosed: the session was closed locally (Conn.Close).
	ErrClosed = errors.New("client: connection closed")
	// ErrDial: no connection was made (refused, unreachable, timed out);
	// the dialer's error is wrapped too.
	ErrDial = errors.New("client: dial")
	// ErrConnLost: the connection ended without a 190 from the server (EOF,
	// reset, write failure). The underlying error is wrapped too.
	ErrConnLost = errors.New("client: connection lost")
	// ErrServerSilent: a registered session heard nothing from the server
	// for Config.IdleTimeout; the client closed it. Always wrapped together
	// with ErrConnLost.
	ErrServerSilent = errors.New("client: no line from the server")
	// ErrBadServer: the server sent something this client cannot accept
	// (see ServerError). The client closes the connection.
	ErrBadServer = errors.New("client: bad input from server")
	// ErrHandshake: no "140 connected" within Config.HandshakeTimeout (then
	// os.ErrDeadlineExceeded is wrapped too) or the context ended first
	// (its error is wrapped).
	ErrHandshake = errors.New("client: handshake did not complete")
	// ErrConfig: the Config cannot work (empty address, password or ID
	// breaking the field rules). Retrying does not help.
	ErrConfig = errors.New("client: bad config")
)

// ServerError is a line from the server that breaks the protocol: a framing
// or grammar error (wrapping protocol.ErrMalformed or ErrLineTooLong), a
// bad field, or a line that is not valid in the session's state.
// errors.Is(err, ErrBadServer) is true for every ServerError.
type ServerError struct {
	Line  string // the offending line, quoted and cut to 64 bytes; "" for framing errors
	Cause error  // a protocol sentinel, or nil for a line out of place
	What  string // what was wrong, for humans
}

func (e *ServerError) Error() string {
	s := "client: bad input from server: " + e.What
	if e.Line != "" {
		s += ": " + e.Line
	}
	return s
}

// Unwrap gives both ErrBadServer and the protocol cause to errors.Is.
func (e *ServerError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrBadServer}
	}
	return []error{ErrBadServer, e.Cause}
}

func badServer(line []byte, cause error, what string) *ServerError {
	var shown string
	if line != nil {
		if len(line) > 64 {
			line = line[:64]
		}
		shown = strconv.Quote(string(line))
	}
	return &ServerError{Line: shown, Cause: cause, What: what}
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}
