package protocol

import "errors"

// Sentinel errors of the codec, in one place. Each maps to exactly one close
// reason through ReasonFor.
var (
	// ErrLineTooLong: a line over MaxLine bytes, or MaxLine bytes without LF.
	ErrLineTooLong = errors.New("protocol: line too long")
	// ErrMalformed: a line that is not "CODE" or "CODE SP ARG", or that holds NUL.
	ErrMalformed = errors.New("protocol: malformed line")
	// ErrBadToken: a keep-alive token that is not a decimal number.
	ErrBadToken = errors.New("protocol: bad keep-alive token")
	// ErrBadSID: a sid that is not a decimal number in 1..65535.
	ErrBadSID = errors.New("protocol: bad sid")
	// ErrBadPassword: a password that breaks the field rule.
	ErrBadPassword = errors.New("protocol: password breaks the field rule")
	// ErrBadClientID: a client-id that breaks the field rule.
	ErrBadClientID = errors.New("protocol: client-id breaks the field rule")
)

// ReasonFor names the close reason the server answers a codec error with.
func ReasonFor(err error) Reason {
	switch {
	case errors.Is(err, ErrLineTooLong):
		return ReasonLineTooLong
	case errors.Is(err, ErrBadClientID):
		return ReasonBadID
	case errors.Is(err, ErrBadPassword):
		return ReasonAuthFailed
	default:
		return ReasonProtocolError
	}
}
