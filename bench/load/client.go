package load

import (
	"io"
	"time"
)

var errEOF = io.EOF

// client is one client of the fleet (a probe reconnects, so it may be
// several connections in a row under the same client-id). The epoll loop
// serving its connection owns its fields.
type client struct {
	e       *Engine
	idx     int
	probe   bool
	answers []byte // "110 <password>\n120 <id>\n", the pipelined handshake
	src     int    // index of its source address
	// inFlight: a probe measured and has not registered again yet; the
	// fleet's probesPending counts it until then.
	inFlight bool
}

// readEnded sorts out a read that failed: the close a shutdown ack expects,
// the harness closing the fleet, or an error.
func (c *client) readEnded(s *session, err error, now time.Time) bool {
	switch {
	case s.phase == phaseAcked && isEOF(err):
		c.closedAfterAck()
	case c.e.closing.Load():
		c.leave(s)
	default:
		c.leave(s)
		c.fail(readKind(err, s.phase != phaseHandshake))
	}
	return false
}
