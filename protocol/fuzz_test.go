package protocol

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// FuzzLine frames and parses arbitrary bytes: no panic, framing never takes
// more than MaxLine bytes, and every line Parse accepts re-encodes to bytes
// that parse to the same thing.
func FuzzLine(f *testing.F) {
	for _, g := range GoldenLines {
		f.Add([]byte(g.Wire))
	}
	f.Add([]byte("110 a\n120 b\n100 1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for len(data) > 0 {
			line, n, err := NextLine(data)
			if errors.Is(err, ErrMalformed) {
				// Refused before its LF: no ending makes it a line,
				// framed as a reader frames it (a CR before the LF is
				// the line's end) or not.
				for _, end := range []string{"", " x"} {
					if _, perr := Parse(append(slices.Clip(data), end...)); perr == nil {
						t.Fatalf("%q refused before its LF, but %q parses", data, append(slices.Clip(data), end...))
					}
				}
				for _, end := range []string{"\n", "\r\n", " x\n", " x\r\n", "x\n"} {
					whole := append(slices.Clip(data), end...)
					if line, n, ferr := NextLine(whole); ferr == nil && n > 0 {
						if _, perr := Parse(line); perr == nil {
							t.Fatalf("%q refused before its LF, but %q is a line", data, whole)
						}
					}
				}
				return
			}
			if err != nil || n == 0 {
				if err == nil && len(data) >= MaxLine {
					t.Fatalf("%d bytes without LF not flagged", len(data))
				}
				return
			}
			if n > MaxLine {
				t.Fatalf("line of %d bytes accepted", n)
			}
			data = data[n:]
			l, err := Parse(line)
			if err != nil {
				continue
			}
			if err := Validate(l); err != nil {
				t.Fatalf("parsed line %q fails Validate: %v", line, err)
			}
			enc := AppendLine(nil, l)
			again, m, err := NextLine(enc)
			if err != nil || m != len(enc) {
				t.Fatalf("re-encoded %q does not frame: %v", enc, err)
			}
			l2, err := Parse(again)
			if err != nil || l2.Code != l.Code || !bytes.Equal(l2.Arg, l.Arg) || (l2.Arg == nil) != (l.Arg == nil) {
				t.Fatalf("round trip of %q gave %+v, %v", line, l2, err)
			}
		}
	})
}

// FuzzFields checks the field parsers: no panic, and whatever they accept
// encodes back to the same bytes.
func FuzzFields(f *testing.F) {
	for _, g := range GoldenLines {
		f.Add([]byte(g.Arg))
	}
	f.Add([]byte("18446744073709551615"))
	f.Add([]byte("connected 17"))
	f.Add([]byte("shutdown maintenance"))
	f.Fuzz(func(t *testing.T, arg []byte) {
		if v, err := ParseToken(arg); err == nil {
			if got := AppendKeepAlive(nil, v); !bytes.Equal(got[4:len(got)-1], arg) {
				t.Fatalf("token %q re-encodes as %q", arg, got)
			}
		}
		if sid, err := ParseConnected(arg); err == nil {
			if got := AppendConnected(nil, sid); !bytes.Equal(got[4:len(got)-1], arg) {
				t.Fatalf("connected %q re-encodes as %q", arg, got)
			}
		}
		if text, err := ParseShutdown(arg); err == nil {
			// The encoder's side of the mirror: what it writes reads back
			// as the wire's text ("shutdown " and "shutdown" both mean none).
			enc := AppendShutdown(nil, text)
			back, err := ParseShutdown(enc[4 : len(enc)-1])
			if err != nil || back != ShutdownText(text) {
				t.Fatalf("shutdown %q: encoded %q reads back %q, %v", arg, enc, back, err)
			}
		}
		// The client's readers (code, not words) agree with the mirrors
		// wherever those read the line.
		if sid, err := ParseConnected(arg); err == nil {
			if got, err := ConnectedSID(arg); err != nil || got != sid {
				t.Fatalf("connected %q: ConnectedSID %d, %v; ParseConnected %d", arg, got, err, sid)
			}
		}
		if text, err := ParseShutdown(arg); err == nil && ShutdownOrder(arg) != ShutdownText(text) {
			t.Fatalf("shutdown %q: ShutdownOrder %q, ParseShutdown %q", arg, ShutdownOrder(arg), text)
		}
		if _, err := ParseToken(arg); err == nil && !IsTokenEcho(arg) {
			t.Fatalf("token %q parses but is not echoed", arg)
		}
		if ValidateClientID(arg) == nil {
			if _, err := AppendIDAnswer(nil, arg); err != nil {
				t.Fatalf("valid id %q not encodable", arg)
			}
		}
		_ = ValidatePassword(arg)
		_ = CleanText(string(arg))
	})
}
