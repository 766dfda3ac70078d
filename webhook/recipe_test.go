package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// TestReceiverRecipeVerifies runs docs/events.md's receiver recipe (the
// library's Verify, with its timestamp window) against real deliveries.
func TestReceiverRecipeVerifies(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook(vectorSecret)
	require.NoError(t, err)
	var ok, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			bad.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p struct {
			Data struct{ Events []json.RawMessage } `json:"data"`
		}
		if json.Unmarshal(body, &p) != nil {
			bad.Add(1)
		}
		ok.Add(int64(len(p.Data.Events)))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	l, dir := tempLog(t)
	r := startDeliverer(t, srv.URL+"/cliser", l, openCursor(t, dir, srv.URL), WithLinger(10*time.Millisecond))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 25)
	eventually(t, func() bool { return ok.Load() == 25 }, "the recipe accepted every event")
	require.Zero(t, bad.Load())
}
