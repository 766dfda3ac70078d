package reactor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestSession() *session { return &session{} }

func TestWheelFiresNothingEarlyAndEverythingOnTime(t *testing.T) {
	const res = 10
	w := newWheel(res, 0)
	dues := map[*session]int64{}
	for due := int64(1); due <= 2000*3; due += 3 { // crosses several rounds
		s := newTestSession()
		w.schedule(s, due)
		dues[s] = due
	}
	requireFiredOnTime(t, w, dues, 0, 6100, 7)
}

// requireFiredOnTime advances w from from to to by step and checks that
// each of dues fires once, never early and less than two ticks late, and
// that nothing is left.
func requireFiredOnTime(t *testing.T, w *wheel, dues map[*session]int64, from, to, step int64) {
	t.Helper()
	fired := map[*session]bool{}
	var due []*session
	for now := from; now <= to; now += step {
		due = w.advance(now, due[:0])
		for _, s := range due {
			require.LessOrEqual(t, dues[s], now, "fired early")
			require.Less(t, now-dues[s], 2*w.res, "fired late: due %d at %d", dues[s], now)
			require.False(t, fired[s], "fired twice")
			fired[s] = true
		}
	}
	assert.Len(t, fired, len(dues))
	assert.Zero(t, w.size)
}

func TestWheelRescheduleAndRemove(t *testing.T) {
	w := newWheel(10, 0)
	a, b, c := newTestSession(), newTestSession(), newTestSession()
	w.schedule(a, 50)
	w.schedule(b, 50)
	w.schedule(c, 50)
	w.remove(b)
	w.schedule(c, 500) // moved later
	due := w.advance(100, nil)
	assert.Equal(t, []*session{a}, due)
	assert.Equal(t, 1, w.size)
	w.remove(b) // removing twice is harmless
	due = w.advance(499, nil)
	assert.Empty(t, due)
	due = w.advance(500, nil)
	assert.Equal(t, []*session{c}, due)
}

func TestWheelSurvivesLongStall(t *testing.T) {
	w := newWheel(10, 0)
	s := newTestSession()
	w.schedule(s, 20)
	due := w.advance(10*wheelSlots*5, nil) // the loop was stuck for 5 rounds
	assert.Equal(t, []*session{s}, due)
}

// The ticker skips a loop while its wheel has nothing due: soonest must
// never lie later than a scheduled session's tick, or that session would
// wait for some other wake-up.
func TestWheelIdleUntilItsFirstOccupiedTick(t *testing.T) {
	const res = 10
	w := newWheel(res, 0)
	w.advance(0, nil) // walks tick 0: next is 1
	assert.True(t, w.idleUntil(res*wheelSlots), "an empty wheel idles a round")
	assert.False(t, w.idleUntil(res*(wheelSlots+1)), "…and looks again after it")

	a, b := newTestSession(), newTestSession()
	w.schedule(a, 95) // tick 10
	assert.True(t, w.idleUntil(99))
	assert.False(t, w.idleUntil(100), "due at tick 10")
	w.schedule(b, 41) // tick 5: earlier than a
	assert.False(t, w.idleUntil(50))
	assert.Equal(t, []*session{b}, w.advance(50, nil))
	assert.True(t, w.idleUntil(99), "after the walk: a's tick is next")
	assert.False(t, w.idleUntil(100))

	w.schedule(b, 10*res*wheelSlots) // a later round lands in a slot ahead
	w.remove(a)
	assert.Empty(t, w.advance(100, nil))
	assert.True(t, w.idleUntil(res*wheelSlots-1))
	assert.False(t, w.idleUntil(res*wheelSlots), "a later round's session keeps its slot looked at")
	assert.Equal(t, []*session{b}, w.advance(10*res*wheelSlots, nil))
}
