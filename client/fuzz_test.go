package client

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/cliser/cliser/protocol"
)

// FuzzSession feeds the client's state machine arbitrary server bytes, cut
// into arbitrary reads, the way Conn and Fleet do. It must never panic,
// never claim more bytes than it got, never buffer a line past MaxLine,
// every reply it writes must be a valid client line, and how the bytes
// were cut must change nothing it does (but junk's refusal, tooLongOrJunk).
func FuzzSession(f *testing.F) {
	for _, g := range protocol.GoldenLines {
		f.Add([]byte("110 password\n120 id\n140 connected 1\n"+g.Wire), uint8(3))
	}
	f.Add([]byte("110 password\n120 id\n140 connected 17\n100 1\n100 2\n130 shutdown bye\n100 3\n"), uint8(5))
	f.Add([]byte("140 connected 65535\n130 shutdown\n"), uint8(1))
	f.Add([]byte("190 auth failed\n"), uint8(0))
	f.Add([]byte("140 connected 1\n100 18446744073709551616\n"), uint8(7))
	f.Fuzz(func(t *testing.T, wire []byte, cut uint8) {
		replies, events, end := feed(t, wire, int(cut)%64+1)
		// The reads' sizes are the network's: the same bytes in one read
		// must give the same replies, events and end.
		r1, e1, end1 := feed(t, wire, max(len(wire), 1))
		if !bytes.Equal(replies, r1) || fmt.Sprint(events) != fmt.Sprint(e1) || (end != end1 && !tooLongOrJunk(end, end1)) {
			t.Fatalf("%q in reads of %d: %q %v %q; in one read: %q %v %q", wire, int(cut)%64+1,
				replies, events, end, r1, e1, end1)
		}
	})
}

// feed runs wire through a session in reads of step bytes, the way Conn
// and Fleet do, and returns every reply, every event and how it ended.
func feed(t *testing.T, wire []byte, step int) (replies []byte, events []sessionEvent, end string) {
	var s session
	var pending, out []byte
	emit := func(ev sessionEvent) { events = append(events, ev) }
	for i := 0; i < len(wire); i += step {
		pending = append(pending, wire[i:min(i+step, len(wire))]...)
		var err error
		for {
			var used int
			used, out, err = s.consume(pending, out[:0], emit)
			if used > len(pending) {
				t.Fatalf("used %d of %d bytes", used, len(pending))
			}
			checkReplies(t, out)
			replies = append(replies, out...)
			pending = pending[used:]
			if err != nil || used == 0 {
				break
			}
		}
		if err != nil {
			return replies, events, endOf(err) // the session is over; the owner closes
		}
		if len(pending) >= protocol.MaxLine {
			t.Fatalf("%d bytes buffered without an error", len(pending))
		}
	}
	return replies, events, ""
}

// endOf is what a session's end means to its owner: a bad server's
// message may differ with the cut (a line refused before its LF is not
// quoted), its cause may not.
func endOf(err error) string {
	var se *ServerError
	if errors.As(err, &se) {
		return fmt.Sprintf("bad server: %v", se.Cause)
	}
	return err.Error()
}

// tooLongOrJunk: the one end the reads' sizes may change, as
// docs/protocol.md says. 512 bytes without an LF are too long, junk or
// not (PROTOCOL.md), but junk is refused as malformed as soon as it
// comes, when fewer have arrived.
func tooLongOrJunk(cut, whole string) bool {
	return cut == endOf(badServer(nil, protocol.ErrMalformed, "")) && whole == endOf(badServer(nil, protocol.ErrLineTooLong, ""))
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
