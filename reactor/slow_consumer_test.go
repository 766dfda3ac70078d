package reactor

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// A client that stops reading is dropped as a slow consumer once its
// unsent output passes the cap (docs/protocol.md, `slow consumer`), with
// no 190 (it reads nothing). Found by a mutation audit: with the cap's
// check in send removed, every reactor test still passed.
func TestClientThatStopsReadingIsDroppedAsSlowConsumer(t *testing.T) {
	const backlog = 64 << 10
	srv := startServer(t, WithLoops(1), WithMaxBacklog(backlog), WithKeepAlive(time.Hour, time.Hour))
	c := srv.connect(t, "slow-1")
	_ = c // it reads nothing from here on
	s := registeredSession(t, srv, "slow-1")

	// Lines go out on the session's own write path until the kernel's
	// buffers are full and gnet keeps the rest; 64 MiB is far beyond what
	// loopback's buffers hold.
	chunk := bytes.Repeat([]byte("100 12345\n"), 400)
	var wrote int
	onLoopSync(t, s.lp, func() {
		for wrote < 64<<20 && s.state < closing {
			s.write(chunk)
			wrote += len(chunk)
		}
	})
	srv.waitDisconnected(t, "slow-1", protocol.ReasonSlowConsumer)
	assert.Less(t, wrote, 64<<20, "the session was closed before the test ran out of lines")
}

// A client that keeps reading is not dropped, however much it is sent.
func TestClientThatReadsIsNotASlowConsumer(t *testing.T) {
	srv := startServer(t, WithLoops(1), WithMaxBacklog(64<<10), WithKeepAlive(time.Hour, time.Hour))
	c := srv.connect(t, "reader-1")
	s := registeredSession(t, srv, "reader-1")
	line := []byte("100 12345\n")
	onLoopSync(t, s.lp, func() {
		for range 1000 {
			s.write(line)
		}
	})
	for range 1000 {
		c.Expect("100 12345")
	}
	r, ok := srv.reg.Get("reader-1")
	require.True(t, ok)
	assert.True(t, r.CStatus)
}
