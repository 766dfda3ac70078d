package node

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// An ordered consumer that falls behind is made again, under a new inbox:
// nats.go rewrites the subscription's Subject under a lock of its own,
// while the handler of the drops' slow-consumer error may be reading it
// (a data race the cluster's tests met under -race, a mutation making
// the node move more often). The handler reads no subscription field;
// reading Subject fails this test under -race (make test), 5 of 5 runs.
func TestNATSAsyncErrorsOfARemadeOrderedConsumer(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	o := defaultOptions()
	o.natsURLs, o.nodeID, o.log = testkit.NATS(t).ClientURL(), "n1", zap.New(core)
	link, err := dialNATS(&o)
	require.NoError(t, err)
	t.Cleanup(link.nc.Close)
	js, err := link.nc.JetStream()
	require.NoError(t, err)
	_, err = js.AddStream(&nats.StreamConfig{Name: "REMADE", Subjects: []string{"remade.>"}, Storage: nats.MemoryStorage})
	require.NoError(t, err)
	sub, err := js.SubscribeSync("remade.>", nats.OrderedConsumer())
	require.NoError(t, err)
	require.NoError(t, sub.SetPendingLimits(1, -1))
	slow := func() int { return logs.FilterMessageSnippet("NATS reports an error").Len() }
	for round := 0; slow() < 100; round++ {
		require.Less(t, round, 2000, "the ordered consumer never fell behind")
		for range 20 {
			_, err := js.PublishAsync("remade.x", []byte("x"))
			require.NoError(t, err)
		}
		<-js.PublishAsyncComplete()
		for range 3 {
			_, _ = sub.NextMsg(time.Millisecond) // its gaps make it again
		}
	}

}
