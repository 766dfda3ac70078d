package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A watch stopped with its channel full lets its delivery go: its reader
// leaves on a rewatch (after every NATS reconnect) without draining it,
// and the delivery, a plain send, then blocked the subscription's
// goroutine for ever with the watcher's lock held and the old consumer's
// messages kept (audit). Once Stop is called the lock comes free and
// Updates is closed after what it holds.
func TestAStoppedWatchLetsItsDeliveryGo(t *testing.T) {
	url := testkit.NATS(t).ClientURL()
	nc, js := testkit.JetStream(t, url)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "stopwatch"})
	require.NoError(t, err)
	const keys = 300 // past the channel's 256
	for i := range keys {
		_, err := kv.Put(ctx, fmt.Sprintf("k%03d", i), []byte("v"))
		require.NoError(t, err)
	}
	w, err := watchBucket(ctx, nc, "stopwatch", 0, time.Second)
	require.NoError(t, err)
	for range 10 {
		select {
		case <-w.Updates():
		case <-time.After(10 * time.Second):
			t.Fatal("no update")
		}
	}
	require.Eventually(t, func() bool { return len(w.updates) == cap(w.updates) },
		10*time.Second, 5*time.Millisecond, "the channel fills")
	require.NoError(t, w.Stop())
	require.Eventually(t, func() bool {
		if !w.mu.TryLock() {
			return false
		}
		w.mu.Unlock()
		return true
	}, 10*time.Second, 5*time.Millisecond, "the delivery still holds the watcher, blocked on a full channel")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("Updates is not closed after what it held")
		}
	}
}
