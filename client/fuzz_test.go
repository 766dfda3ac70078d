package client

import (
	"bytes"
	"testing"

	"github.com/cliser/cliser/protocol"
)

// FuzzSession feeds the client's state machine arbitrary server bytes, cut
// into arbitrary reads, the way Conn and Fleet do. It must never panic,
// never claim more bytes than it got, never buffer a line past MaxLine, and
// every reply it writes must be a valid client line.
func FuzzSession(f *testing.F) {
	for _, g := range protocol.GoldenLines {
		f.Add([]byte("110 password\n120 id\n140 connected 1\n"+g.Wire), uint8(3))
	}
	f.Add([]byte("110 password\n120 id\n140 connected 17\n100 1\n100 2\n130 shutdown bye\n100 3\n"), uint8(5))
	f.Add([]byte("140 connected 65535\n130 shutdown\n"), uint8(1))
	f.Add([]byte("190 auth failed\n"), uint8(0))
	f.Add([]byte("140 connected 1\n100 18446744073709551616\n"), uint8(7))
	f.Fuzz(func(t *testing.T, wire []byte, cut uint8) {
		var s session
		var pending, out []byte
		step := int(cut)%64 + 1
		for i := 0; i < len(wire); i += step {
			pending = append(pending, wire[i:min(i+step, len(wire))]...)
			var err error
			for {
				var used int
				used, out, err = s.consume(pending, out[:0], nil)
				if used > len(pending) {
					t.Fatalf("used %d of %d bytes", used, len(pending))
				}
				checkReplies(t, out)
				pending = pending[used:]
				if err != nil || used == 0 {
					break
				}
			}
			if err != nil {
				return // the session is over; the owner closes
			}
			if len(pending) >= protocol.MaxLine {
				t.Fatalf("%d bytes buffered without an error", len(pending))
			}
		}
	})
}

func checkReplies(t *testing.T, out []byte) {
	for len(out) > 0 {
		line, n, err := protocol.NextLine(out)
		if err != nil || n == 0 {
			t.Fatalf("reply not a line: %q", out)
		}
		l, err := protocol.Parse(line)
		if err != nil {
			t.Fatalf("reply %q: %v", line, err)
		}
		switch {
		case l.Code == protocol.CodeKeepAlive:
			if !protocol.IsTokenEcho(l.Arg) {
				t.Fatalf("echo %q: not a decimal token", line)
			}
		case protocol.IsShutdownAck(l):
		default:
			t.Fatalf("unexpected reply %q", line)
		}
		out = bytes.Clone(out[n:])
	}
}
