package protocol

import "bytes"

// validate reports whether l would encode to a line that Parse accepts:
// the fuzz test's check that Parse never gives a line AppendLine cannot
// give back. Only the tests call it, so it lives with them.
func validate(l Line) error {
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
