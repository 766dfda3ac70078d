package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// boundConn is a registered connection's handle: the registry compares
// it, and this test never orders it.
type boundConn struct{ n int }

func (*boundConn) Shutdown(string) error       { return nil }
func (*boundConn) Close(protocol.Reason) error { return nil }

// A disconnected record is pruned within two checkpoint intervals of
// passing retention (WithRetention), however the passes fall against the
// disconnect and while earlier prunes shrink the set mid-pass. The doc
// said "the first checkpoint after that": a soak saw a 3m retention at
// a 1m interval prune at 4m48s, and this test, at one interval, left
// 33-500 of 2,000 records: a pass spreads its visits by count, so the
// records a pass left move later in the next once those pruned ahead of
// them are gone. Stepped every 50 ms, as the flusher does, from passes
// begun at several phases.
func TestPrunedWithinTwoIntervalsPastRetention(t *testing.T) {
	const retention, interval = 3 * time.Minute, time.Minute
	for _, phase := range []time.Duration{0, 7 * time.Second, 31 * time.Second, 59 * time.Second} {
		t.Run(phase.String(), func(t *testing.T) {
			now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
			r := New(WithRetention(retention), WithCheckpoint(interval), WithClock(func() time.Time { return now }))
			conns := map[string]*boundConn{}
			for i := range 2300 {
				cid := fmt.Sprintf("c%04d", i)
				conns[cid] = &boundConn{i}
				_, _, err := r.Register(cid, "192.0.2.1", "4000", conns[cid])
				require.NoError(t, err)
			}
			// 300 left two minutes before the rest: their prunes shrink
			// the set during the pass that must reach the others.
			for i := range 300 {
				cid := fmt.Sprintf("c%04d", i*7)
				require.True(t, r.Disconnect(cid, conns[cid], protocol.ReasonClosedByClient))
				delete(conns, cid)
			}
			now = now.Add(2 * time.Minute)
			left := now
			for cid, c := range conns {
				require.True(t, r.Disconnect(cid, c, protocol.ReasonClosedByClient))
			}
			sw := sweep{start: left.Add(-phase)}
			for now = left; !now.After(left.Add(retention + 2*interval)); now = now.Add(50 * time.Millisecond) {
				r.checkpointStep(&sw, now)
				if now.Before(left.Add(retention)) {
					_, total := r.Counts()
					require.GreaterOrEqual(t, total, 2000, "pruned before retention at %s", now.Sub(left))
				}
			}
			_, total := r.Counts()
			require.Zero(t, total, "records left two intervals past retention")
		})
	}
}
