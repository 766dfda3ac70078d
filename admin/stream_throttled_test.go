package admin

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/registry"
)

// Client.Stream (`cliser events tail`) resumes by itself after a drop, and
// after a 503; a 429 (the address's wrong-token bucket empty: another
// tool on the host, a guesser behind the same NAT) ended it instead, the
// right token included, and a tail run again without --after starts at
// the new events: what came meanwhile was lost to its reader. A 429 says
// to try again (Retry-After): the stream backs off and goes on.
func TestStreamWaitsOutAThrottledAddress(t *testing.T) {
	const token = "the-right-token"
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	hs, err := New(registry.New(), WithEvents(log), WithToken(token), WithAuthFailLimit(2, 2*time.Second)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(context.Background()) //nolint:errcheck
	base := "http://" + hs.Addr()

	wrong, err := NewClient(base, "a-wrong-token", 5*time.Second)
	require.NoError(t, err)
	right, err := NewClient(base, token, 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.Eventually(t, func() bool { // guess until this address is throttled
		_, err := wrong.Events(ctx, nil, 1, EventsFilter{}, 0)
		var se *StatusError
		return asStatus(err, &se) && se.Status == http.StatusTooManyRequests
	}, 10*time.Second, 10*time.Millisecond)
	_, err = right.Events(ctx, nil, 1, EventsFilter{}, 0)
	var se *StatusError
	require.True(t, asStatus(err, &se) && se.Status == http.StatusTooManyRequests, "the right token is throttled too: %v", err)

	require.True(t, log.Append(events.Event{Type: events.TypeConnected, CID: "after-the-429"}))
	got := make(chan string, 1)
	from := uint64(0)
	err = right.Stream(ctx, &from, EventsFilter{}, func(ev events.Event) error {
		got <- ev.CID
		cancel() // one event is the proof; end the stream
		return nil
	}, nil)
	require.NoError(t, err, "a 429 is waited out, not the end of the stream")
	select {
	case cid := <-got:
		require.Equal(t, "after-the-429", cid)
	default:
		t.Fatal("the stream ended without its event")
	}
}

func asStatus(err error, se **StatusError) bool { return errors.As(err, se) }
