package protocol

import (
	"bytes"
	"strconv"
)

// The server's fixed lines, LF included.
const (
	PromptPassword = "110 password\n"
	PromptID       = "120 id\n"
	ShutdownAck    = "130 ok\n" // the client's answer to 130
)

// Words of the server's lines. Clients rely on codes, not on these words,
// but the server always sends them exactly.
const (
	wordConnected = "connected"
	wordShutdown  = "shutdown"
	wordOK        = "ok"
)

// --- server to client ---

// AppendKeepAlive encodes "100 <token>\n". The client's echo is the same line.
func AppendKeepAlive(dst []byte, token uint64) []byte {
	dst = append(dst, "100 "...)
	dst = strconv.AppendUint(dst, token, 10)
	return append(dst, '\n')
}

// AppendConnected encodes "140 connected <sid>\n".
func AppendConnected(dst []byte, sid uint16) []byte {
	dst = append(dst, "140 "+wordConnected+" "...)
	dst = strconv.AppendUint(dst, uint64(sid), 10)
	return append(dst, '\n')
}

// AppendClose encodes "190 <reason>\n".
func AppendClose(dst []byte, r Reason) []byte {
	dst = append(dst, "190 "...)
	dst = append(dst, r.String()...)
	return append(dst, '\n')
}

// AppendShutdown encodes "130 shutdown\n", or "130 shutdown <text>\n" when
// the operator gave a text. The text is made safe first (ShutdownText).
func AppendShutdown(dst []byte, text string) []byte {
	dst = append(dst, "130 "+wordShutdown...)
	if t := ShutdownText(text); t != "" {
		dst = append(dst, ' ')
		dst = append(dst, t...)
	}
	return append(dst, '\n')
}

// CleanText turns an operator's free text into something a line can carry:
// CR, LF and NUL become spaces, surrounding spaces go, and it is cut to
// MaxShutdownReason bytes.
func CleanText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' || c == 0 {
			b[i] = ' '
		}
	}
	b = bytes.TrimSpace(b)
	if len(b) > MaxShutdownReason {
		b = bytes.TrimSpace(b[:MaxShutdownReason])
	}
	return string(b)
}

// ShutdownText is an operator's text as a 130 line carries it: CleanText's,
// in ASCII, as every line is (PROTOCOL.md). Other control characters (a
// tab, an escape) become spaces and any other character '?', so "café"
// goes as "caf?": a terminal's colour codes or a byte a client's parser
// may refuse never reach the fleet.
func ShutdownText(s string) string {
	s = CleanText(s)
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return asciiText(s)
		}
	}
	return s
}

func asciiText(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			b = append(b, ' ')
		case r > 0x7e:
			b = append(b, '?')
		default:
			b = append(b, byte(r))
		}
	}
	return string(bytes.TrimSpace(b))
}

// --- client to server ---

// AppendPasswordAnswer encodes "110 <password>\n" after checking the field rule.
func AppendPasswordAnswer(dst, password []byte) ([]byte, error) {
	if err := ValidatePassword(password); err != nil {
		return dst, err
	}
	return AppendLine(dst, Line{Code: CodePassword, Arg: password}), nil
}

// AppendIDAnswer encodes "120 <client-id>\n" after checking the field rule.
func AppendIDAnswer(dst, id []byte) ([]byte, error) {
	if err := ValidateClientID(id); err != nil {
		return dst, err
	}
	return AppendLine(dst, Line{Code: CodeID, Arg: id}), nil
}

// --- reading the server's lines (client side) ---

// ParseConnected reads the argument of a 140 line: "connected <sid>".
func ParseConnected(arg []byte) (uint16, error) {
	rest, ok := bytes.CutPrefix(arg, []byte(wordConnected+" "))
	if !ok {
		return 0, ErrMalformed
	}
	return ParseSID(rest)
}

// ParseShutdown reads the argument of a 130 line: "shutdown" or
// "shutdown <text>". It returns the operator's text, "" when none.
func ParseShutdown(arg []byte) (text string, err error) {
	if string(arg) == wordShutdown {
		return "", nil
	}
	rest, ok := bytes.CutPrefix(arg, []byte(wordShutdown+" "))
	if !ok {
		return "", ErrMalformed
	}
	return string(rest), nil
}

// A client relies on a server line's code, not its words (PROTOCOL.md):
// the readers below are what a client acts on. ParseConnected and
// ParseShutdown stay the exact mirrors of the encoders.

// ConnectedSID is the sid of a 140 line as a client reads it: the number
// after the last space, whatever words come before ("connected" from
// cliser). It fails only when there is no sid to read.
func ConnectedSID(arg []byte) (uint16, error) {
	return ParseSID(arg[bytes.LastIndexByte(arg, ' ')+1:])
}

// ShutdownOrder is the operator's text of a 130 line as a client reads
// it: any 130 from the server is the order, its argument past the word
// "shutdown" the text (all of it when the words differ), in ASCII as
// ShutdownText makes it: a server's escape codes reached the agent's hook
// raw (CLISER_SHUTDOWN_REASON).
func ShutdownOrder(arg []byte) string {
	if text, err := ParseShutdown(arg); err == nil {
		return ShutdownText(text)
	}
	return ShutdownText(string(arg))
}

// IsTokenEcho reports whether a keep-alive's argument is a decimal number,
// which a client echoes byte for byte: a server may pick a token that
// ParseToken refuses (leading zeros, beyond 64 bits), and "the same
// token" is then those bytes.
func IsTokenEcho(arg []byte) bool {
	if len(arg) == 0 {
		return false
	}
	for _, c := range arg {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// IsShutdownAck reports whether a client line is "130 ok".
func IsShutdownAck(l Line) bool {
	return l.Code == CodeShutdown && string(l.Arg) == wordOK
}

// ParseCloseReason reads the argument of a 190 line. ok is false for a
// reason this version does not know; the text is still returned.
func ParseCloseReason(arg []byte) (r Reason, text string, ok bool) {
	text = string(arg)
	r, ok = ParseReason(text)
	return r, text, ok
}
