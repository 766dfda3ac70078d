package client

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// Tests from a mutation audit of Fleet: each pins a rule a mutant broke
// with every other test passing.

// fleetEchoes opens one Fleet session against a scripted server that
// sends the handshake's lines and then a keep-alive as send says, and
// returns the echo the server read ("" for none within 5s).
func fleetEchoes(t *testing.T, send func(c *scriptConn, lines string) bool) string {
	t.Helper()
	echo := make(chan string, 1)
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		if !send(c, "110 password\n120 id\n140 connected 5\n100 9\n") {
			echo <- ""
			return
		}
		line, _ := c.readLine()
		echo <- line
		c.waitEOF()
	})
	rec := newFleetRecorder()
	f, err := NewFleet(FleetConfig{Addr: srv.addr(), Password: realPassword, EventLoops: 1, Events: rec.events()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	_, err = f.Open(context.Background(), 0, "seg-1")
	require.NoError(t, err)
	got := <-echo
	require.Eventually(t, rec.with(func(r *fleetRecorder) bool { return r.keepAlives[0] == 1 }), 5*time.Second, time.Millisecond)
	return got
}

// The lines after the 140 in the same segment are read in the same
// OnTraffic: the loop sees no new bytes to call it again, so a
// keep-alive left behind the 140 went unanswered until the server gave
// up on the session.
func TestFleetReadsTheLinesBehindThe140(t *testing.T) {
	assert.Equal(t, "100 9", fleetEchoes(t, func(c *scriptConn, lines string) bool { return c.send(lines) }))
}

// Lines that come a byte at a time are reassembled: an OnTraffic that
// consumed nothing must discard nothing (gnet's Discard(0) drops the
// whole buffer, the start of the line with it).
func TestFleetReassemblesLinesSplitAcrossReads(t *testing.T) {
	assert.Equal(t, "100 9", fleetEchoes(t, func(c *scriptConn, lines string) bool {
		for i := range len(lines) {
			if !c.send(lines[i : i+1]) {
				return false
			}
		}
		return true
	}))
}

// An Open whose dial fails is counted (FleetCounts.DialFailed), and is
// no session: none is open, none gets Closed.
func TestFleetCountsADialThatFailed(t *testing.T) {
	srv := newScriptedServer(t, func(*scriptConn) {})
	addr := srv.addr()
	srv.stop() // nothing listens there now
	f, err := NewFleet(FleetConfig{Addr: addr, Password: realPassword, EventLoops: 1})
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Open(context.Background(), 0, "dead-1")
	require.ErrorIs(t, err, ErrDial)
	c := f.Counts()
	assert.EqualValues(t, 1, c.DialFailed)
	assert.Zero(t, c.Opened)
	assert.Zero(t, f.OpenSessions())
}

// A keep-alive's token reaches FleetEvents.KeepAlive as sent (a bench
// pairs it with the server's send times), and a session the server drops
// without a 190 ends in ErrConnLost, wrapping what ended it (io.EOF when
// the server closed), and is counted Lost, not under a reason of
// Closed. A mutation audit zeroed the token, skipped the Lost count and
// filled Closed with a zero for every reason, each with every test
// passing.
func TestFleetReportsTheTokenAndALostSession(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		c.send("100 4242\n")
		c.readLine() // the echo; then the server closes
	}))
	tokens := make(chan uint64, 1)
	closed := make(chan error, 1)
	f, err := NewFleet(FleetConfig{Addr: srv.addr(), Password: realPassword, EventLoops: 1, Events: FleetEvents{
		KeepAlive: func(_ *Session, token uint64, _ time.Time) { tokens <- token },
		Closed:    func(_ *Session, err error, _ time.Time) { closed <- err },
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	_, err = f.Open(context.Background(), 0, "lost-1")
	require.NoError(t, err)
	select {
	case err := <-closed:
		assert.ErrorIs(t, err, ErrConnLost)
		assert.ErrorIs(t, err, io.EOF)
	case <-time.After(10 * time.Second):
		t.Fatal("no Closed after the server closed")
	}
	assert.EqualValues(t, 4242, <-tokens)
	c := f.Counts()
	assert.EqualValues(t, 1, c.Lost)
	assert.Zero(t, c.ClosedLocally+c.BadServer)
	assert.Empty(t, c.Closed, "no 190 came: Closed holds only reasons seen, not a row of zeros for each")
}

// Closed is a session's last call, also when the echo's write fails: gnet
// closes the conn from inside that Write and calls OnClose there, and
// Closed came before the Registered and KeepAlive of the same read (a
// bench that counts live sessions counted a dead one again). Found in a
// mutation audit of the write's error. The server sends the handshake's
// lines and a keep-alive and resets at once, so that the echo meets the
// reset; how often it does is up to the kernel, so sessions are opened
// until a write has failed a few times.
func TestFleetClosedIsTheLastCallWhenTheEchoFails(t *testing.T) {
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		c.send("110 password\n120 id\n140 connected 5\n100 9\n")
		_ = c.nc.(*net.TCPConn).SetLinger(0) // a reset, not a FIN
		_ = c.nc.Close()
	})
	var calls testkit.List[string] // "<index> <call>", in order
	closed := make(chan error, 1)
	f, err := NewFleet(FleetConfig{Addr: srv.addr(), Password: realPassword, EventLoops: 1, Events: FleetEvents{
		Registered: func(s *Session, _ uint16, _ time.Time) { calls.Add(fmt.Sprint(s.Index, " registered")) },
		KeepAlive:  func(s *Session, _ uint64, _ time.Time) { calls.Add(fmt.Sprint(s.Index, " keep-alive")) },
		Closed: func(s *Session, err error, _ time.Time) {
			calls.Add(fmt.Sprint(s.Index, " closed"))
			closed <- err
		},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	writeFailed := 0
	for i := 0; i < 300 && writeFailed < 3; i++ {
		_, err := f.Open(context.Background(), i, "reset-1")
		require.NoError(t, err)
		select {
		case err := <-closed:
			require.ErrorIs(t, err, ErrConnLost)
			if strings.Contains(err.Error(), "write") {
				writeFailed++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("session %d: no Closed", i)
		}
	}
	ended := map[string]bool{}
	for _, c := range calls.All() {
		index, call, _ := strings.Cut(c, " ")
		assert.False(t, ended[index], "session %s: %s after Closed", index, call)
		ended[index] = call == "closed"
	}
	if writeFailed == 0 {
		t.Skip("no echo met the reset: the kernel delivered each reset before the data")
	}
}
