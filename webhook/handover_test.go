package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/internal/testkit"
)

// slowCursor takes its time over an acknowledgement's write, as a NATS
// server a little slow to answer: long enough for a node waiting on the
// lease to take it, were it free.
type slowCursor struct{ Cursor }

func (c slowCursor) Save(ctx context.Context, st State) error {
	if st.Acked > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(600 * time.Millisecond):
		}
	}
	return c.Cursor.Save(ctx, st)
}

// A delivering node stopped gracefully (a rolling restart) hands over
// where the receiver acknowledged: the next holder sends nothing again.
// Before, a lease holder stopping did not write its cursor (only a node
// without a lease did), and its lease's key was deleted as the stop began,
// before any write could land: the next holder sent the last second's
// batches again, here 1-3.
func TestClusterGracefulStopHandsOverWithoutSendingAgain(t *testing.T) {
	ns := testkit.NATS(t)
	l, _ := tempLog(t)
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	node := func(name string, wrap func(Cursor) Cursor) *running {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		_, js := testkit.JetStream(t, ns.ClientURL())
		cursor, err := NewKVCursor(ctx, js, url, 1)
		require.NoError(t, err)
		lease, err := NewKVLease(ctx, js, url, name, time.Second, 1, zaptest.NewLogger(t).Named(name))
		require.NoError(t, err)
		return startDeliverer(t, url, l, wrap(cursor), WithLease(lease), WithLinger(20*time.Millisecond))
	}
	n1 := node("n1", func(c Cursor) Cursor { return slowCursor{c} })
	eventually(t, func() bool { return n1.d.Delivering() }, "n1 delivers")
	n2 := node("n2", func(c Cursor) Cursor { return c }) // waits for the lease

	appendN(t, l, 3)
	eventually(t, func() bool { return n1.d.Acked() == 3 }, "1-3 acknowledged")
	require.NoError(t, n1.halt())
	eventually(t, func() bool { return n2.d.Delivering() }, "n2 takes over")
	appendN(t, l, 2)
	eventually(t, func() bool { return n2.d.Acked() == 5 }, "4-5 acknowledged")
	require.Equal(t, seqRange(1, 5), seqsOf(rc.requests(), all), "each event once")
}
