package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A stop says how far delivery got: with the receiver still refusing,
// how many events wait for it; caught up, that none does. A failing
// receiver had one warning when it began and nothing at the stop (log
// audit).
func TestStopSaysWhatTheReceiverHasNotAcknowledged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   string
		left   uint64
	}{
		{"refusing", http.StatusServiceUnavailable, "stopped with events the receiver has not acknowledged", 3},
		{"caught up", http.StatusOK, "stopped; the receiver has acknowledged every event", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(tc.status) })
			l, dir := tempLog(t)
			sg, err := ParseSecrets(vectorSecret)
			require.NoError(t, err)
			core, logs := observer.New(zap.InfoLevel)
			d, err := New(rc.srv.URL, l, sg, openCursor(t, dir, rc.srv.URL), WithLogger(zap.New(core)),
				WithBackoff(5*time.Millisecond, 50*time.Millisecond), WithLinger(10*time.Millisecond))
			require.NoError(t, err)
			r := runDeliverer(t, d)
			eventually(t, d.Delivering, "delivering")
			appendN(t, l, 3)
			eventually(t, func() bool { return len(rc.requests()) > 0 }, "tried")
			if tc.left == 0 {
				eventually(t, func() bool { return d.Acked() == 3 }, "acknowledged")
			}
			require.NoError(t, r.halt())
			lines := logs.FilterMessageSnippet("webhook: stopped").All()
			require.Len(t, lines, 1)
			assert.Contains(t, lines[0].Message, tc.want)
			if tc.left > 0 {
				assert.Equal(t, tc.left, lines[0].ContextMap()["not_acknowledged"])
			}
		})
	}
}
