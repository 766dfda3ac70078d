package reactor

import "testing"

// One tick of a loop holding 20,000 keep-alive clients: the walk takes the
// sessions due and each is scheduled again an interval on, as the
// keep-alive path does. Per op: one advance and ~20 reschedules.
func BenchmarkWheelTick(b *testing.B) {
	const res, clients, interval = 1000, 20000, 1000 * 1000 // 1000 ticks an interval
	w := newWheel(res, 0)
	for i := range clients {
		w.schedule(newTestSession(), int64(i)*interval/clients)
	}
	var due []*session
	now := int64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now += res
		due = w.advance(now, due[:0])
		for _, s := range due {
			w.schedule(s, now+interval)
		}
	}
}
