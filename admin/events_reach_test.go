package admin

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/registry"
)

// onlyReader is a log seen through events.Reader alone, as a cluster's
// stream is: no raw reads, so each event read is decoded.
type onlyReader struct{ events.Reader }

// A filtered read without after reads back decodedReach events at most
// from a log that decodes each one (a cluster's stream: ~12 s for a type
// matching nothing on 1,000,000 events), and the whole log from one with
// raw reads (the single node's file).
func TestNewestFilteredReadsBackDecodedReachAtMost(t *testing.T) {
	old := decodedReach
	decodedReach = 1000
	defer func() { decodedReach = old }()
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer l.Close()
	for i := 1; i <= 3000; i++ {
		ev := events.Event{Type: events.TypeConnected, CID: "c", Session: "s"}
		if i == 10 {
			ev.Type = events.TypeShutdownAcked
		}
		require.Eventually(t, func() bool { return l.Append(ev) }, 10*time.Second, time.Millisecond)
	}
	require.Eventually(t, func() bool { return l.Newest() == 3000 }, 10*time.Second, 5*time.Millisecond)
	q := EventsQuery{Limit: 5, Types: map[string]bool{events.TypeShutdownAcked: true}}

	raw := New(registry.New(), WithEvents(l))
	resp, err := raw.Events(context.Background(), q)
	require.NoError(t, err)
	require.Len(t, resp.Events, 1, "raw reads go back to the oldest")
	assert.EqualValues(t, 10, resp.Events[0].Seq)

	decoded := New(registry.New(), WithEvents(onlyReader{l}))
	resp, err = decoded.Events(context.Background(), q)
	require.NoError(t, err)
	assert.Empty(t, resp.Events, "the match is further back than decodedReach")
	assert.EqualValues(t, 3000, resp.Next)
}
