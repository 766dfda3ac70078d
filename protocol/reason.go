package protocol

// Reason is why a connection ended. It is one enum for the whole product:
// the wire's "190 <reason>" text, the registry's reason field, the metrics
// label and the log field are all its String().
type Reason uint8

// The reasons. The first block is answered on the wire with "190 <reason>";
// the second block ends a connection without a 190 (the client left, asked
// for it, or can no longer be told).
const (
	ReasonNone Reason = iota // still connected

	ReasonAuthFailed         // wrong password
	ReasonBadID              // client-id breaks the field rule
	ReasonProtocolError      // a line that is not the awaited answer
	ReasonLineTooLong        // over MaxLine, or MaxLine bytes without LF
	ReasonHandshakeTimeout   // password and id not both in time
	ReasonKeepaliveTimeout   // no echo of a keep-alive in time
	ReasonReplaced           // a newer connection registered the same client-id
	ReasonKicked             // an operator disconnected the client
	ReasonServerFull         // no free sid, or the connection ceiling
	ReasonTooManyAttempts    // this IP failed authentication too often
	ReasonBanned             // a ban matches this IP, network or client-id
	ReasonRevoked            // this client-id's credential was deleted
	ReasonServerShuttingDown // the server is stopping

	ReasonShutdown        // the client acknowledged "130 shutdown" with "130 ok"
	ReasonClosedByClient  // the client closed, or the socket failed
	ReasonSlowConsumer    // the client stopped reading; its outbound backlog hit the cap
	ReasonServerRestarted // it was connected when the server process died
	ReasonNodeLost        // the cluster node that held it disappeared

	reasonCount // keep last
)

var reasonText = [reasonCount]string{
	ReasonNone:               "",
	ReasonAuthFailed:         "auth failed",
	ReasonBadID:              "bad id",
	ReasonProtocolError:      "protocol error",
	ReasonLineTooLong:        "line too long",
	ReasonHandshakeTimeout:   "handshake timeout",
	ReasonKeepaliveTimeout:   "keepalive timeout",
	ReasonReplaced:           "replaced",
	ReasonKicked:             "kicked",
	ReasonServerFull:         "server full",
	ReasonTooManyAttempts:    "too many attempts",
	ReasonBanned:             "banned",
	ReasonRevoked:            "revoked",
	ReasonServerShuttingDown: "server shutting down",
	ReasonShutdown:           "shutdown",
	ReasonClosedByClient:     "closed by client",
	ReasonSlowConsumer:       "slow consumer",
	ReasonServerRestarted:    "server restarted",
	ReasonNodeLost:           "node lost",
}

// String is the reason's text, as on the wire and in the admin API; for a
// newer version's reason, its text as it came (reason_future.go).
func (r Reason) String() string {
	if r < reasonCount {
		return reasonText[r]
	}
	if t, ok := futureText(r); ok {
		return t
	}
	return "unknown"
}

// SentOnWire reports whether the server tells the client this reason with a
// "190 <reason>" line before it closes.
func (r Reason) SentOnWire() bool {
	return r >= ReasonAuthFailed && r <= ReasonServerShuttingDown
}

// Reasons lists every reason but ReasonNone, in enum order (for metrics
// that want every label present from the start).
func Reasons() []Reason {
	out := make([]Reason, 0, reasonCount-1)
	for r := ReasonNone + 1; r < reasonCount; r++ {
		out = append(out, r)
	}
	return out
}

// ParseReason maps a reason's text back to the enum. ok is false for a text
// this version does not know; a client then still knows it was dropped.
func ParseReason(text string) (r Reason, ok bool) {
	for i, t := range reasonText {
		if t == text {
			return Reason(i), true
		}
	}
	return ReasonNone, false
}

// MarshalText makes a Reason a JSON string.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a Reason from its text. A text this build does not
// know (stored by a newer version) is kept as it is, never misread as
// another reason (reason_future.go); only a text that can not be a reason
// (control bytes, too long) or one past the room for such texts is an
// error.
func (r *Reason) UnmarshalText(b []byte) error {
	v, ok := ParseReason(string(b))
	if !ok {
		v, ok = futureReason(string(b))
	}
	if !ok {
		return &UnknownReasonError{Text: string(b)}
	}
	*r = v
	return nil
}

// UnknownReasonError is returned by UnmarshalText for an unknown text.
type UnknownReasonError struct{ Text string }

func (e *UnknownReasonError) Error() string { return "protocol: unknown reason " + quote(e.Text) }
