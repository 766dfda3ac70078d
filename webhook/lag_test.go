package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// A 410 disables the webhook, and its lag stays what was not delivered:
// newest - acked, following the log as it grows. It read 0 (newest 351,
// cursor 343 in the audit).
func TestLagAfterGoneIsWhatWasNotDelivered(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n > 1 {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithBatch(5), WithLinger(10*time.Millisecond))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 8)
	eventually(t, r.d.Disabled, "disabled by the 410")
	require.ErrorIs(t, r.halt(), ErrDisabled)
	reqs := rc.requests()
	require.Len(t, reqs, 2)
	acked := seqsOf(reqs, func(n int) bool { return n == 1 })
	require.NotEmpty(t, acked)
	last := acked[len(acked)-1]
	require.Equal(t, last, r.d.Acked())

	require.EqualValues(t, 8-last, metricValue(t, r.d, MetricLag, ""), "events not delivered, acked %d", last)
	appendN(t, l, 4)
	require.EqualValues(t, 12-last, metricValue(t, r.d, MetricLag, ""), "the lag follows the log while disabled")
}

// A receiver that fails for longer than the log keeps events: the lag is
// what the log holds undelivered, never more than the retention (it read
// 70 with --event-retention 50: events that fell out counted as lag).
func TestLagNeverExceedsTheLogsRetention(t *testing.T) {
	l, dir := tempLog(t, events.WithRetention(50))
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithBatch(10), WithLinger(10*time.Millisecond))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 20)
	eventually(t, func() bool { return len(rc.requests()) > 0 }, "a request tried")
	require.EqualValues(t, 20, metricValue(t, r.d, MetricLag, ""), "all 20 undelivered, all in the log")

	appendN(t, l, 100) // 120: the log keeps 71-120
	eventually(t, func() bool { return l.Oldest() == 71 }, "retention trimmed to 50 events")
	require.Zero(t, r.d.Acked(), "the receiver acknowledged nothing")
	require.EqualValues(t, 50, metricValue(t, r.d, MetricLag, ""), "newest - (oldest - 1)")
}
