package client

import (
	"bytes"
	"strings"

	"github.com/cliser/cliser/protocol"
)

// session is the client's half of the protocol as a pure state machine:
// it is fed the server's bytes and answers with the bytes to write back and
// the events that happened. It knows no sockets, so Conn (one reader
// goroutine per connection) and Fleet (gnet event loops) run exactly the
// same rules. Not safe for concurrent use; each owner serialises it.
//
// States and what the server may send in each:
//
//	handshaking:   110, 120 (prompts, already answered by the pipelined
//	               handshake), 140 -> registered, 190
//	registered:    100 (echoed), 130 -> "130 ok", shutdown acked, 190
//	shutdownAcked: anything is ignored until the server closes
//
// Any other line is a ServerError and ends the session.
type session struct {
	state sessionState
	sid   uint16
	// shutdownText is the operator's text of an acked 130.
	shutdownText string
	// secret is the password answered to 110: a line quoted in an error
	// shows it as <password>. Something that is not a cliser server (a
	// mistyped --server) may quote the answers it could not parse back.
	secret []byte
	// prompted: a 110 or 120 prompt came. A cliser serve says 110 first,
	// but with --proxy-protocol not before a PROXY header, and a
	// connection without one (or from outside --proxy-trusted) gets
	// "190 protocol error" unprompted.
	prompted bool
}

type sessionState uint8

const (
	stateHandshaking sessionState = iota
	stateRegistered
	stateShutdownAcked
)

// eventKind says what a line meant; the owner turns it into callbacks.
type eventKind uint8

const (
	evRegistered eventKind = iota + 1 // sid is set
	evKeepAlive                       // token is set; the echo is already in out
	evShutdown                        // text is set; "130 ok" is already in out
)

type sessionEvent struct {
	kind  eventKind
	sid   uint16
	token uint64
	text  string
}

// consume reads every complete line at the start of in, appends the replies
// to out and calls emit for each event, in order. It returns how many bytes
// of in it used (the rest is an incomplete line: keep it and call again with
// more), the grown out, and a terminal error: a *ClosedError for a 190, a
// *ServerError for bad input. After a terminal error the session is over.
// Replies appended before the error are still valid to send.
func (s *session) consume(in, out []byte, emit func(sessionEvent)) (used int, _ []byte, err error) {
	for {
		line, n, ferr := protocol.NextLine(in[used:])
		if ferr != nil && s.state == stateShutdownAcked {
			// As any line after the ack (handleLine): noise or an overlong
			// line cannot undo an order acked. It ended the session as bad
			// input, and Run dialled again: the agent registered anew, and
			// its hook waited for a stop signal.
			return len(in), out, nil
		}
		if ferr != nil {
			// Name the cause ("line too long"): "framing" alone left the
			// agent's log with nothing to go on.
			return used, out, badServer(nil, ferr, "framing: "+strings.TrimPrefix(ferr.Error(), "protocol: "))
		}
		if n == 0 {
			return used, out, nil
		}
		used += n
		var ev sessionEvent
		out, ev, err = s.handleLine(line, out)
		if err != nil {
			return used, out, err
		}
		if ev.kind != 0 && emit != nil {
			emit(ev)
		}
		if ev.kind == evRegistered {
			// Stop here: the handshake's owner may hand the rest of the
			// buffer to another reader (Conn's goroutine), which must see
			// what follows the 140.
			return used, out, nil
		}
	}
}

func (s *session) handleLine(raw, out []byte) ([]byte, sessionEvent, error) {
	if s.state == stateShutdownAcked {
		// The server closes after our ack; whatever it says meanwhile
		// cannot change that we are shutting down.
		return out, sessionEvent{}, nil
	}
	l, err := protocol.Parse(raw)
	if err != nil {
		return out, sessionEvent{}, s.bad(raw, err, "malformed line")
	}
	if l.Code == protocol.CodeClose {
		r, text, ok := protocol.ParseCloseReason(l.Arg)
		if !ok { // not a reason of ours: whatever the other end says
			text = string(s.redact(l.Arg))
		}
		if r == protocol.ReasonShutdown {
			// Not a 190 reason (PROTOCOL.md): a session ends "shutdown"
			// only by an acked 130. Taken as one, "190 shutdown" read as
			// ErrShutdown: Run returned nil, and the agent exited 0 for
			// good, with no ack and no hook.
			r = protocol.ReasonNone
		}
		return out, sessionEvent{}, &ClosedError{Reason: r, Text: text}
	}
	switch s.state {
	case stateHandshaking:
		return s.handshakeLine(l, raw, out)
	default:
		return s.registeredLine(l, raw, out)
	}
}

func (s *session) handshakeLine(l protocol.Line, raw, out []byte) ([]byte, sessionEvent, error) {
	switch l.Code {
	case protocol.CodePassword, protocol.CodeID:
		// Prompts: the pipelined handshake answered both before they came.
		s.prompted = true
		return out, sessionEvent{}, nil
	case protocol.CodeConnected:
		sid, err := protocol.ConnectedSID(l.Arg)
		if err != nil {
			return out, sessionEvent{}, s.bad(raw, err, "bad connected notice")
		}
		s.sid, s.state = sid, stateRegistered
		return out, sessionEvent{kind: evRegistered, sid: sid}, nil
	default:
		return out, sessionEvent{}, s.bad(raw, nil, "unexpected line during the handshake")
	}
}

func (s *session) registeredLine(l protocol.Line, raw, out []byte) ([]byte, sessionEvent, error) {
	switch l.Code {
	case protocol.CodeKeepAlive:
		if !protocol.IsTokenEcho(l.Arg) {
			return out, sessionEvent{}, s.bad(raw, protocol.ErrBadToken, "bad keep-alive")
		}
		token, _ := protocol.ParseToken(l.Arg) // 0 for one beyond cliser's own
		return protocol.AppendLine(out, l), sessionEvent{kind: evKeepAlive, token: token}, nil
	case protocol.CodeShutdown:
		// Redacted as a 190's text is: it reaches the log and the hook's
		// environment (a server quoted the password there: agent audit).
		text := string(s.redact([]byte(protocol.ShutdownOrder(l.Arg))))
		s.state, s.shutdownText = stateShutdownAcked, text
		return append(out, protocol.ShutdownAck...), sessionEvent{kind: evShutdown, text: text}, nil
	default:
		return out, sessionEvent{}, s.bad(raw, nil, "unexpected line after registration")
	}
}

// bad is badServer for raw, the password in it shown as <password>.
func (s *session) bad(raw []byte, cause error, what string) *ServerError {
	return badServer(s.redact(raw), cause, what)
}

// redact is b with every copy of the password replaced by <password>,
// and of each of its words when it has several: a service that splits
// its input on spaces quotes them apart (Redis: "with args beginning
// with: 'correct' 'horse' ..."), and the first word was shown. A word
// shorter than minRedactedWord is left: replacing every "a" would garble
// the line and hide little; the whole password is replaced at any
// length. A quote cut short is replaced too (redactPrefix).
func (s *session) redact(b []byte) []byte {
	if len(s.secret) == 0 {
		return b
	}
	// Whole, at any length (a password of one or two bytes too); then
	// its start cut short, and its words.
	b = bytes.ReplaceAll(b, s.secret, []byte("<password>"))
	b = redactPrefix(b, s.secret)
	if words := bytes.Fields(s.secret); len(words) > 1 {
		for _, w := range words {
			b = redactPrefix(b, w)
		}
	}
	return b
}

// redactPrefix is b with every copy of w (of minRedactedWord bytes or
// more), or else of its longest prefix of minRedactedPrefix bytes or more
// that b holds, replaced by <password>: a service may quote only the
// start of what it got (Redis quotes at most 128 bytes of the arguments),
// and a password over that length was shown up to the 64-byte cut of the
// line, its first bytes in the agent's log. A shorter prefix is left: a
// word of the server's own ("unknown") would be taken for one, and its
// mark would say how the password begins.
func redactPrefix(b, w []byte) []byte {
	if len(w) >= minRedactedWord && bytes.Contains(b, w) {
		return bytes.ReplaceAll(b, w, []byte("<password>"))
	}
	for k := len(w) - 1; k >= minRedactedPrefix; k-- {
		if bytes.Contains(b, w[:k]) {
			return bytes.ReplaceAll(b, w[:k], []byte("<password>"))
		}
	}
	return b
}

// minRedactedWord is the shortest word of a password redact replaces;
// minRedactedPrefix the shortest start of one cut short.
const (
	minRedactedWord   = 3
	minRedactedPrefix = 12
)

// endCause is the error a session ends with when its transport ends with
// err and no 190 has come: an acked shutdown wins over a lost connection.
func (s *session) endCause(err error) error {
	if s.state == stateShutdownAcked {
		return &ClosedError{Reason: protocol.ReasonShutdown, Text: s.shutdownText}
	}
	return err
}
