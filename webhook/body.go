package webhook

import (
	"context"
	"net/http/httptrace"
	"sync/atomic"
)

// bodyBuf is the request body's buffer, kept from one batch to the next:
// a storm sends thousands of batches of ~30 KB, and a new body each was
// most of what delivery left to the GC (CPU at GOGC=50).
//
// On the Transport's path (https, a proxy; see direct.go) net/http may
// read a body still after Do returns (an early answer), so
// the buffer is written again only once every try that got a connection
// has finished writing its request: httptrace's GotConn and WroteRequest,
// counted per buffer. A batch that finds a write unfinished takes a new
// buffer. The body itself stays a *bytes.Reader, which net/http knows to
// be in memory: headers and body then go out in one write, with no copy
// buffer. Used by the delivering goroutine; the counts from any.
type bodyBuf struct {
	buf    []byte
	writes *bodyWrites // the tries over buf; new with a new buf
}

type bodyWrites struct {
	started, done atomic.Int32
	trace         httptrace.ClientTrace
}

func newBodyWrites() *bodyWrites {
	w := &bodyWrites{}
	w.trace.GotConn = func(httptrace.GotConnInfo) { w.started.Add(1) }
	w.trace.WroteRequest = func(httptrace.WroteRequestInfo) { w.done.Add(1) }
	return w
}

// take returns an empty buffer for the next batch's body.
func (b *bodyBuf) take() []byte {
	if b.writes == nil || b.writes.started.Load() != b.writes.done.Load() {
		b.buf, b.writes = nil, newBodyWrites()
	}
	return b.buf[:0]
}

// keep makes body, built on what take returned, the buffer of the next
// take.
func (b *bodyBuf) keep(body []byte) { b.buf = body }

// traced is ctx for a try over the kept buffer: net/http reports its
// connection and the end of its write.
func (b *bodyBuf) traced(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &b.writes.trace)
}
