package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// polled is one HTTP answer read whole, or why there was none.
type polled struct {
	status int
	body   []byte
	err    error
}

// getAsync sends GET url and hands its answer to the returned channel.
func getAsync(url string) <-chan polled {
	out := make(chan polled, 1)
	go func() {
		r, err := http.Get(url)
		if err != nil {
			out <- polled{err: err}
			return
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		out <- polled{status: r.StatusCode, body: b, err: err}
	}()
	return out
}

func await(t *testing.T, c <-chan polled, what string) polled {
	t.Helper()
	select {
	case p := <-c:
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", what)
		return polled{}
	}
}

// A stopping server answers its long-polls at once, each with an empty
// answer whose next is its after (a filtered one's too), and ends its
// streams cleanly: its stop is not held for their wait. A long-poll used
// to hold it for the whole stop's time and then be cut off unanswered.
func TestEventsLongPollsAndStreamsEndAtShutdown(t *testing.T) {
	l, hs := eventsListener(t)
	base := "http://" + hs.Addr()
	appendEvents(t, l, "a", events.TypeConnected, events.TypeDisconnected, events.TypeConnected) // 1-3
	plain := getAsync(base + "/v1/events?after=3&wait=60s")
	filtered := getAsync(base + "/v1/events?after=1&wait=60s&type=ban.created")
	stream := getAsync(base + "/v1/events/stream?after=3")
	require.Eventually(t, func() bool { return l.waiting.Load() == 3 }, 5*time.Second, time.Millisecond,
		"the two long-polls and the stream never all waited")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, hs.Shutdown(ctx), "a request held the stop to its end")
	assert.Less(t, time.Since(start), 3*time.Second)

	for _, c := range []struct {
		name string
		got  <-chan polled
		next uint64
	}{{"after=3", plain, 3}, {"after=1&type=ban.created", filtered, 1}} {
		p := await(t, c.got, c.name)
		require.NoError(t, p.err, c.name)
		require.Equal(t, http.StatusOK, p.status, "%s: %s", c.name, p.body)
		var a eventsAnswer
		require.NoError(t, json.Unmarshal(p.body, &a), "%s: %s", c.name, p.body)
		assert.Empty(t, a.Events, c.name)
		require.NotNil(t, a.Next, c.name)
		assert.Equal(t, c.next, *a.Next, c.name)
	}
	p := await(t, stream, "the stream")
	require.NoError(t, p.err, "the stream did not end cleanly")
	assert.Equal(t, http.StatusOK, p.status)
}
