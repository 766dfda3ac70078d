package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// An informational answer (103 Early Hints) before the 204 is not the
// answer: the 204 acknowledges. A mutation audit found the loop past 1xx
// answers removable with every test passing: the 103 was then taken for
// a failure (counted http_5xx), and every try failed so.
func TestInformationalAnswerBeforeTheStatusIsSkipped(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusNoContent)
	})
	r := deliveringTo(t, rc, l, dir)
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "acknowledged by the 204 after the 103")
	assert.Len(t, rc.requests(), 1)
	assert.EqualValues(t, 1, metricValue(t, r.d, MetricRequests, ResultOK))
}

// docs/events.md: of an answer's body 64 KB is read and the rest left
// unread, the status counting as it is, and the connection closed so
// that the next request does not meet the rest. A 2xx with a body of
// megabytes acknowledges, and the next batch goes in one try.
func TestLargeAnswerBodyAcknowledgesAndTheNextRequestIsClean(t *testing.T) {
	l, dir := tempLog(t)
	big := strings.Repeat("x", 4<<20)
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(big))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r := deliveringTo(t, rc, l, dir)
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "the 200 with 4 MB acknowledged")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 2 }, "the next batch acknowledged")
	require.Len(t, rc.requests(), 2, "each batch in one try")
	assert.EqualValues(t, 2, metricValue(t, r.d, MetricRequests, ResultOK))
}

// docs/events.md: a receiver that does not acknowledge is logged once a
// batch, at its first failed try, and the acknowledgement that ends the
// failures is logged too. A mutation audit found the warning movable to
// the second try, and the recovery's line to the third, with every test
// passing: a batch that failed once then went unlogged.
func TestABatchsFirstFailureIsWarnedOnceAndItsRecoverySaid(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	core, logs := observer.New(zapcore.InfoLevel)
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithLinger(10*time.Millisecond), WithLogger(zap.New(core)))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "acknowledged at the second try")
	warned := logs.FilterMessageSnippet("did not acknowledge").All()
	require.Len(t, warned, 1, "once a batch")
	assert.EqualValues(t, 1, warned[0].ContextMap()["try"], "at its first failed try")
	again := logs.FilterMessageSnippet("acknowledged again").All()
	require.Len(t, again, 1)
	assert.EqualValues(t, 2, again[0].ContextMap()["tries"])
}

// An answer whose body never ends acknowledges all the same: 64 KB of it
// is read, not the rest (docs/events.md), so the try does not wait for
// its timeout. Two bounds hold it (the body's 64 KB, and maxAnswer on the
// whole answer); the mutation audit found either one alone enough.
func TestEndlessAnswerBodyAcknowledges(t *testing.T) {
	l, dir := tempLog(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 32<<10))
		rc := http.NewResponseController(w)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	r := startDeliverer(t, srv.URL, l, openCursor(t, dir, srv.URL), WithLinger(10*time.Millisecond), WithTimeout(time.Minute))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "acknowledged by the 200, its body cut at 64 KB")
	assert.EqualValues(t, 1, metricValue(t, r.d, MetricRequests, ResultOK))
}
