package webhook

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpReceiver is a receiver on its own TCP listener that writes each
// answer itself, as answer(n) gives it (n from 1): net/http's server can
// not answer one request twice, nor trickle a body past its handler.
type tcpReceiver struct {
	ln       net.Listener
	answer   func(n int) string
	mu       sync.Mutex
	ids      []string // each request's webhook-id, in order
	answered int      // requests whose answer is written whole
	conns    []net.Conn
}

func newTCPReceiver(t *testing.T, answer func(n int) string) *tcpReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rr := &tcpReceiver{ln: ln, answer: answer}
	t.Cleanup(func() {
		_ = ln.Close()
		rr.mu.Lock()
		defer rr.mu.Unlock()
		for _, c := range rr.conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rr.mu.Lock()
			rr.conns = append(rr.conns, c)
			rr.mu.Unlock()
			go rr.serve(c)
		}
	}()
	return rr
}

func (rr *tcpReceiver) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		rr.mu.Lock()
		rr.ids = append(rr.ids, req.Header.Get(HeaderID))
		n := len(rr.ids)
		rr.mu.Unlock()
		// Each part a write of its own, 50 ms apart.
		for i, part := range strings.Split(rr.answer(n), pause) {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if _, err := io.WriteString(c, part); err != nil {
				return
			}
		}
		rr.mu.Lock()
		rr.answered++
		rr.mu.Unlock()
	}
}

// pause splits an answer into writes 50 ms apart.
const pause = "\x00pause\x00"

// answeredAll reports whether every request so far was answered whole.
func (rr *tcpReceiver) answeredAll() bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.answered == len(rr.ids)
}

func (rr *tcpReceiver) requests() (ids []string, conns int) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]string(nil), rr.ids...), len(rr.conns)
}

const (
	raw204 = "HTTP/1.1 204 No Content\r\n\r\n"
	raw500 = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
	raw200 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
)

// A receiver that answers a request twice left its second answer on the
// connection, read as the answer to the next request: a batch it refused
// counted acknowledged and was never sent again (webhook audit). The
// connection is now dropped, as the Transport drops one with an
// unsolicited response, and the refused batch is tried again: whether
// the second answer came with the first (in the reader's buffer) or
// after it (in the kernel's).
func TestASecondAnswerToOneRequestIsNotTheNextOnesAnswer(t *testing.T) {
	for name, tc := range map[string]struct {
		twice string
		next  time.Duration // before the next batch: past bodyWait, the last read's deadline has passed
	}{
		"in one write": {raw204 + raw204, 0},
		"50 ms later":  {raw204 + pause + raw204, 0},
		// A body: read with bodyWait's deadline (a bare 204 is read whole
		// at once, under the try's), which has passed at the next batch.
		"50 ms later, the next batch late": {raw200 + pause + raw200, bodyWait + 200*time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) { secondAnswerIsDropped(t, tc.twice, tc.next) })
	}
}

func secondAnswerIsDropped(t *testing.T, twice string, next time.Duration) {
	l, dir := tempLog(t)
	rr := newTCPReceiver(t, func(n int) string {
		switch n {
		case 1:
			return twice // one request, two answers
		case 2:
			return raw500
		}
		return raw204
	})
	url := "http://" + rr.ln.Addr().String() + "/hook"
	r := startDeliverer(t, url, l, openCursor(t, dir, url), WithLinger(10*time.Millisecond))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 && rr.answeredAll() }, "the first batch acknowledged, twice")
	time.Sleep(next) // the scenario's gap, not a wait for a condition
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 2 }, "the second batch acknowledged")
	ids, conns := rr.requests()
	require.GreaterOrEqual(t, len(ids), 3, "%v", ids)
	assert.Equal(t, ids[1], ids[2], "the batch answered 500 went again: %v", ids)
	assert.Equal(t, 2, conns, "a new connection after the second answer")
	assert.EqualValues(t, 1, metricValue(t, r.d, MetricRequests, Result5xx))
	assert.EqualValues(t, 1, metricValue(t, r.d, MetricUnasked, ""), "the drop is counted (cluster audit)")
}

// A 2xx whose body trickles acknowledges once its status is in: the read
// of the body stops after bodyWait, where it held every batch for the
// whole timeout (webhook audit).
func TestATricklingBodyDoesNotHoldTheNextBatch(t *testing.T) {
	l, dir := tempLog(t)
	rr := newTCPReceiver(t, func(int) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nx" // the other 99 bytes never come
	})
	url := "http://" + rr.ln.Addr().String() + "/hook"
	r := startDeliverer(t, url, l, openCursor(t, dir, url), WithLinger(10*time.Millisecond), WithTimeout(time.Minute))
	eventually(t, r.d.Delivering, "delivering")
	start := time.Now()
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "acknowledged")
	appendN(t, l, 1)
	require.Eventually(t, func() bool { return r.d.Acked() == 2 }, 20*time.Second, 10*time.Millisecond, "the next batch")
	assert.Less(t, time.Since(start), 30*time.Second, "not held for the minute's timeout")
	assert.EqualValues(t, 2, metricValue(t, r.d, MetricRequests, ResultOK))
}

// 101 Switching Protocols is no answer to a POST: it was counted and
// shown as http_5xx (webhook audit); it fails the try as an error.
func TestSwitchingProtocolsIsAnError(t *testing.T) {
	l, dir := tempLog(t)
	rr := newTCPReceiver(t, func(n int) string {
		if n == 1 {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}
		return raw204
	})
	url := "http://" + rr.ln.Addr().String() + "/hook"
	r := startDeliverer(t, url, l, openCursor(t, dir, url), WithLinger(10*time.Millisecond))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "acknowledged by the try after")
	assert.EqualValues(t, 1, metricValue(t, r.d, MetricRequests, ResultError))
	assert.EqualValues(t, 0, metricValue(t, r.d, MetricRequests, Result5xx))
}
