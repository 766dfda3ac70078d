package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// A stream that goes silent (a server frozen, a proxy that holds the
// connection) is cut after StreamIdle and said as such: `events tail`
// said "stream dropped (context canceled)" (events audit).
func TestStreamCutForItsSilenceSaysSo(t *testing.T) {
	old := StreamIdle
	StreamIdle = 200 * time.Millisecond
	t.Cleanup(func() { StreamIdle = old })
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\nevent: ban.created\ndata: {\"seq\":1,\"type\":\"ban.created\"}\n\n")
		w.(http.Flusher).Flush()
		select { // then nothing
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := NewClient(srv.URL, "", 5*time.Second)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var drops []error
	after := uint64(0)
	err = c.Stream(ctx, &after, EventsFilter{}, func(events.Event) error { return nil }, func(connected bool, err error) {
		if connected {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if drops = append(drops, err); len(drops) == 2 {
			cancel()
		}
	})
	require.NoError(t, err, "Stream ends without an error when its context does")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, drops, 2)
	for _, d := range drops {
		assert.EqualError(t, d, "no event and no keep-alive for 200ms: the server or a proxy between stopped sending")
	}
}
