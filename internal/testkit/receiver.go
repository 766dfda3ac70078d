package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Receiver is a webhook receiver that answers Status while Down is true
// and 204 once it is false; it starts down.
type Receiver struct {
	URL  string
	Down atomic.Bool
}

// NewReceiver starts a Receiver on a loopback port for t's life.
func NewReceiver(t testing.TB, status int) *Receiver {
	t.Helper()
	r := &Receiver{}
	r.Down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		if r.Down.Load() {
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}
