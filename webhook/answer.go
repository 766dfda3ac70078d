package webhook

import (
	"bufio"
	"bytes"
	"strings"
)

// quickAnswer reads the answer at the head of br when it is whole in br's
// buffer and is what a receiver's acknowledgement nearly always is: an
// HTTP/1.1 2xx with no body (204, or Content-Length: 0) that keeps the
// connection. n is its length, consumed from br when ok. Anything else
// (another status, a body, Connection or Transfer-Encoding, a header
// split across reads, a malformed line) is not ok and consumes nothing:
// http.ReadResponse reads it. ReadResponse costs six allocations (the
// Response, its header map and values) and ~5% of a request's CPU for an
// answer the deliverer only needs the status of. FuzzQuickAnswer holds it
// to ReadResponse's reading of the same bytes.
func quickAnswer(br *bufio.Reader) (status int, ok bool) {
	buf, _ := br.Peek(br.Buffered())
	status, n, ok := parseQuickAnswer(buf)
	if ok {
		_, _ = br.Discard(n)
	}
	return status, ok
}

// parseQuickAnswer is quickAnswer's reading of buf: the status and the
// answer's length when ok.
func parseQuickAnswer(buf []byte) (status, n int, ok bool) {
	line, rest, ok := bytes.Cut(buf, crlf)
	if !ok || len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') || !isFieldValue(line) {
		return 0, 0, false
	}
	if line[9] != '2' || !isDigit(line[10]) || !isDigit(line[11]) {
		return 0, 0, false
	}
	status = 200 + int(line[10]-'0')*10 + int(line[11]-'0')
	zeroLength := false
	for {
		if line, rest, ok = bytes.Cut(rest, crlf); !ok {
			return 0, 0, false // not whole yet
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || !isToken(name) || !isFieldValue(value) {
			return 0, 0, false
		}
		switch {
		case asciiEqualFold(name, "content-length"):
			if zeroLength || string(bytes.Trim(value, " \t")) != "0" {
				return 0, 0, false
			}
			zeroLength = true
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "connection"):
			return 0, 0, false
		}
	}
	if !zeroLength && status != 204 {
		return 0, 0, false // a body up to the close, or a length to read
	}
	return status, len(buf) - len(rest), true
}

var crlf = []byte("\r\n")

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isToken: a header name (RFC 9110 token characters).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// isFieldValue: visible ASCII, spaces and tabs only (no obs-text, no
// control bytes); anything else is left to ReadResponse.
func isFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether b is s (lower case) in any case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
