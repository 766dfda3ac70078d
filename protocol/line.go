package protocol

import "bytes"

// Line is one parsed line: "CODE" or "CODE SP ARG". Arg aliases the bytes it
// was parsed from; copy it to keep it past the buffer's life.
type Line struct {
	Code Code
	Arg  []byte // nil when the line is the code alone
}

// NextLine finds the first complete line at the start of buf. It returns the
// line without its LF (and without a CR right before the LF) and n, the bytes
// it takes from buf, LF included. n == 0 with a nil error means no complete
// line yet: wait for more bytes. ErrLineTooLong comes as soon as MaxLine
// bytes have arrived without an LF, so a caller never buffers more than
// MaxLine bytes of one line; before that, ErrMalformed as soon as the
// bytes of a line not yet ended can start no line Parse accepts (a NUL, a code that is no
// digits: TLS, HTTP, binary; a fourth byte that is not a space or CR; a CR
// not followed by LF), which waited for an LF that may never come and was
// answered by a timeout's reason instead.
func NextLine(buf []byte) (line []byte, n int, err error) {
	window := buf
	if len(window) > MaxLine {
		window = window[:MaxLine]
	}
	i := bytes.IndexByte(window, '\n')
	if i < 0 {
		// The length first, as PROTOCOL.md words it ("512 bytes without
		// an LF" is too long, junk or not): junk that arrived whole past
		// MaxLine answered "protocol error", where a test of the spec
		// sends 600 bytes in one write and waits for "line too long".
		if len(buf) >= MaxLine {
			return nil, 0, ErrLineTooLong
		}
		if neverALine(window) {
			return nil, 0, ErrMalformed
		}
		return nil, 0, nil
	}
	line = buf[:i]
	if i > 0 && line[i-1] == '\r' {
		line = line[:i-1]
	}
	return line, i + 1, nil
}

// Parse splits a line (as NextLine returns it) into code and argument. The
// code is exactly three ASCII digits; an argument is the rest of the line
// after a single space, and may be empty ("120 ": an ID of no characters,
// which the field rules then refuse as 190 bad id, as PROTOCOL.md's framing
// reads). NUL and CR anywhere in the line are malformed (a CR is allowed
// only right before the LF, and NextLine has dropped that one). Parse does
// not allocate.
func Parse(line []byte) (Line, error) {
	if len(line) < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) {
		return Line{}, ErrMalformed
	}
	code := Code(uint16(line[0]-'0')*100 + uint16(line[1]-'0')*10 + uint16(line[2]-'0'))
	if len(line) == 3 {
		return Line{Code: code}, nil
	}
	if line[3] != ' ' {
		return Line{}, ErrMalformed
	}
	arg := line[4:]
	if bytes.IndexByte(arg, 0) >= 0 || bytes.IndexByte(arg, '\r') >= 0 {
		return Line{}, ErrMalformed
	}
	return Line{Code: code, Arg: arg}, nil
}

// AppendLine encodes l as "CODE[ SP ARG]\n" onto dst. It mirrors Parse:
// Parse(AppendLine(nil, l) without its LF) gives l back for every l that
// Validate accepts.
func AppendLine(dst []byte, l Line) []byte {
	dst = appendCode(dst, l.Code)
	if l.Arg != nil {
		dst = append(dst, ' ')
		dst = append(dst, l.Arg...)
	}
	return append(dst, '\n')
}

// Validate reports whether l would encode to a line that Parse accepts.
func Validate(l Line) error {
	if l.Code > 999 {
		return ErrMalformed
	}
	if l.Arg == nil {
		return nil
	}
	if len(l.Arg)+len("000 \n") > MaxLine {
		return ErrMalformed
	}
	if bytes.IndexByte(l.Arg, 0) >= 0 || bytes.IndexByte(l.Arg, '\r') >= 0 || bytes.IndexByte(l.Arg, '\n') >= 0 {
		return ErrMalformed
	}
	return nil
}

func appendCode(dst []byte, c Code) []byte {
	return append(dst, byte('0'+c/100%10), byte('0'+c/10%10), byte('0'+c%10))
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// neverALine reports whether p, the start of a line not yet ended, can
// start no line Parse accepts, whatever follows: one with a NUL; whose
// first bytes are not the code's digits; whose fourth is neither the
// space before an argument nor a CR that may end the line ("110x",
// "1100"); or with a CR that a byte other than LF follows ("110 pw\rX":
// a CR only ends a line, right before its LF). It runs on a partial line
// alone, never per complete one.
func neverALine(p []byte) bool {
	for i := 0; i < len(p) && i < 3; i++ {
		if !isDigit(p[i]) {
			return true
		}
	}
	if len(p) > 3 && p[3] != ' ' && p[3] != '\r' {
		return true
	}
	// p holds no LF, so a CR before its last byte has a byte other than
	// LF after it.
	if cr := bytes.IndexByte(p, '\r'); cr >= 0 && cr < len(p)-1 {
		return true
	}
	return bytes.IndexByte(p, 0) >= 0
}
