package events

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// appendAndCloseAfterAnEmptyTake is an afterTake that, at the writer's
// first take that finds nothing, appends one event and closes the queue
// before the writer goes on: the interleaving a loaded machine makes
// when a stop's last events are queued as the writer looks for more.
// ready says Open has returned; done is closed once the event is queued.
func appendAndCloseAfterAnEmptyTake(t *testing.T, appendEv func(Event) bool, q func() *queue) (afterTake func(int), ready func(), done <-chan struct{}) {
	var once sync.Once
	opened, appended := make(chan struct{}), make(chan struct{})
	return func(took int) {
		<-opened // appendEv and q have what they need
		if took == 0 {
			once.Do(func() {
				assert.True(t, appendEv(Event{Type: TypeDisconnected, CID: "last"}), "queued: the queue is still open")
				q().close()
				close(appended)
			})
		}
	}, func() { close(opened) }, appended
}

func waitClosed(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer's first take never found the queue empty")
	}
}

// An event queued before Close is written, even when it was queued (and
// the queue closed) just after the writer's take found the queue empty:
// the writer read "closed" after that take and stopped, and the event was
// lost with no error from Close (TestLogSeqGrowsAcrossReopen failed so
// under load: its reopened log was empty).
func TestLogCloseWritesWhatCameAfterAnEmptyTake(t *testing.T) {
	var l *Log
	hook, ready, done := appendAndCloseAfterAnEmptyTake(t, func(ev Event) bool { return l.Append(ev) }, func() *queue { return l.q })
	l, err := Open(filepath.Join(t.TempDir(), FileName), func(o *options) { o.afterTake = hook })
	require.NoError(t, err)
	ready()
	waitClosed(t, done)
	require.NoError(t, l.Close())
	assert.Equal(t, uint64(1), l.Newest(), "the event queued before the close is in the log")
}

// The cluster's stream, likewise.
func TestStreamCloseWritesWhatCameAfterAnEmptyTake(t *testing.T) {
	nc, js := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	var s *Stream
	hook, ready, done := appendAndCloseAfterAnEmptyTake(t, func(ev Event) bool { return s.Append(ev) }, func() *queue { return s.q })
	s, err := OpenStream(nc, []Option{func(o *options) { o.afterTake = hook }})
	require.NoError(t, err)
	ready()
	waitClosed(t, done)
	require.NoError(t, s.Close())
	st, err := js.Stream(t.Context(), DefaultStreamName)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.CachedInfo().State.Msgs, "the event queued before the close is in the stream")
}
