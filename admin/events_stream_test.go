package admin

import (
	"bufio"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// A quiet stream gets a comment line every heartbeat, and a server that
// shuts down ends its streams at once instead of waiting on them.
func TestEventsStreamHeartbeatAndShutdown(t *testing.T) {
	old := streamHeartbeat
	streamHeartbeat = 50 * time.Millisecond
	defer func() { streamHeartbeat = old }()
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	hs, err := New(registry.New(), WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)

	resp, err := http.Get("http://" + hs.Addr() + "/v1/events/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	keepAlives := 0
	timeout := time.After(10 * time.Second)
	for keepAlives < 3 {
		select {
		case l := <-lines:
			if l == ": keep-alive" {
				keepAlives++
			}
		case <-timeout:
			t.Fatalf("%d keep-alive comments in 10s at a 50ms heartbeat", keepAlives)
		}
	}

	start := time.Now()
	require.NoError(t, hs.Shutdown(testkit.Context(t, 10*time.Second)), "no request left in flight")
	assert.Less(t, time.Since(start), 5*time.Second)
	for range lines { // the stream ends
	}
}
