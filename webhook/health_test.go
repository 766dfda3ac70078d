package webhook

import (
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Healthy says the receiver has not acknowledged, since when and its last
// answer, for as long as it fails (a log line came once), and nothing
// once it acknowledges again (after a 410: TestGoneDisables).
func TestHealthySaysWhatAilsTheWebhook(t *testing.T) {
	l, dir := tempLog(t)
	var down atomic.Bool
	down.Store(true)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r := deliveringTo(t, rc, l, dir)
	require.NoError(t, r.d.Healthy())
	appendN(t, l, 3)
	eventually(t, func() bool { return r.d.Healthy() != nil }, "the failure is said")
	msg := r.d.Healthy().Error()
	assert.Contains(t, msg, "webhook: "+rc.srv.URL+" has not acknowledged since ")
	assert.Contains(t, msg, "(last answer: http_5xx (HTTP 503)); retrying, 3 events wait")
	first := rc.requests()[0].at
	eventually(t, func() bool { reqs := rc.requests(); return reqs[len(reqs)-1].at.Sub(first) > 2100*time.Millisecond },
		"retries for more than two seconds")
	since := regexp.MustCompile(`since (\S+) \(`).FindStringSubmatch(r.d.Healthy().Error())
	require.Len(t, since, 2)
	at, err := time.Parse(time.RFC3339, since[1])
	require.NoError(t, err)
	assert.WithinDuration(t, first.Truncate(time.Second), at, time.Second, "since the first failure, not the last try")

	down.Store(false)
	eventually(t, func() bool { return r.d.Healthy() == nil }, "acknowledged again: nothing to say")
}
