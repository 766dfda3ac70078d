package identity

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A burst of registrations leaves a flapping count per client for a
// window: it must be small while it lasts, and its memory must go back
// once the window has passed, not stay for as long as the process runs.
func TestFlapCountsAreSmallAndGoBack(t *testing.T) {
	const n = 20000
	s := New(WithFlapping(DefaultFlapLimit, time.Minute, time.Minute))
	cids := make([]string, n)
	for i := range cids {
		cids[i] = fmt.Sprintf("client-%05d", i)
	}
	t0 := time.Now()
	before := heapAlloc()
	for _, cid := range cids {
		s.countRegistration(cid, t0)
	}
	during := heapAlloc()
	perClient := (int64(during) - int64(before)) / n
	// A map slot for the key and a 16-byte count (63 B with the map's
	// spare room); a pointer to a struct with a time.Time was 74 B.
	assert.Less(t, perClient, int64(68), "flapping count per client")

	s.pruneFlaps(t0.Add(2 * time.Minute))
	after := heapAlloc()
	assert.Empty(t, s.flaps)
	assert.Less(t, int64(after)-int64(before), int64(n*8), "the burst's map stayed: %d B before, %d after", before, after)
	runtime.KeepAlive(cids)
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// registerAt counts cid's registrations at t0 plus each offset and returns
// after which ones a flapping ban had started (their indexes).
func registerAt(s *Service, cid string, t0 time.Time, offsets ...time.Duration) []int {
	var hits []int
	for i, d := range offsets {
		before := s.FlappingBans()
		s.countRegistration(cid, t0.Add(d))
		if s.FlappingBans() != before {
			hits = append(hits, i)
		}
	}
	return hits
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// The window slides: registrations that fall within a window of each
// other ban, wherever an earlier window began. A fixed window that began
// at 0 and started again at 2.05 s never counted 1.9, 2.05 and 2.1
// together.
func TestFlappingWindowSlides(t *testing.T) {
	s := New(WithFlapping(3, 2*time.Second, time.Minute))
	t0 := time.Now()
	assert.Equal(t, []int{3}, registerAt(s, "straddler", t0, 0, ms(1900), ms(2050), ms(2100)),
		"1.9, 2.05 and 2.1 s are within 2 s: the third of them bans")
	_, banned := s.Ban(BanKey{Kind: KindCID, Value: "straddler"})
	assert.True(t, banned)

	// Exactly a window apart is within it, as before.
	assert.Equal(t, []int{2}, registerAt(s, "edge", t0, 0, ms(1000), ms(2000)))
}

// Registrations spread just over the window never ban, however many:
// no three of them fall within 2 s.
func TestFlappingSpreadJustOverTheWindowDoesNotBan(t *testing.T) {
	s := New(WithFlapping(3, 2*time.Second, time.Minute))
	t0 := time.Now()
	offsets := make([]time.Duration, 40)
	for i := range offsets {
		offsets[i] = time.Duration(i) * ms(1001)
	}
	assert.Empty(t, registerAt(s, "steady", t0, offsets...))
	assert.Empty(t, registerAt(s, "three", t0, 0, ms(1000), ms(2001)))
	assert.Zero(t, s.FlappingBans())
}

// The count after a ban starts afresh, and the ban's registration is
// the limit-th since: a client that keeps flapping is banned every limit
// registrations, not at each one after the first ban.
func TestFlappingCountStartsAfreshAfterABan(t *testing.T) {
	s := New(WithFlapping(3, time.Minute, time.Minute))
	t0 := time.Now()
	offsets := make([]time.Duration, 9)
	for i := range offsets {
		offsets[i] = time.Duration(i) * time.Second
	}
	assert.Equal(t, []int{2, 5, 8}, registerAt(s, "loop", t0, offsets...))
	assert.Empty(t, s.flaps)
	assert.Empty(t, s.flapsMore)
}

// countRegistration agrees with the rule written out plainly, on random
// registrations of a few client IDs, with pruneFlaps run between them.
func TestFlappingMatchesTheRule(t *testing.T) {
	for _, limit := range []int{1, 2, 3, 5, 15, 20} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			const window = time.Second
			s := New(WithFlapping(limit, window, time.Minute))
			r := rand.New(rand.NewPCG(uint64(limit), 7))
			t0 := time.Now()
			at := t0
			since := map[string][]time.Time{} // each cid's registrations since its last ban
			for i := range 20000 {
				cid := fmt.Sprint("c", r.IntN(4))
				at = at.Add(time.Duration(r.ExpFloat64() * float64(window) / float64(limit)))
				got := registerAt(s, cid, at, 0) != nil
				times := append(since[cid], at)
				// The rule: the limit-th registration within the window
				// of the limit-1 before it bans.
				want := len(times) >= limit && at.Sub(times[len(times)-limit]) <= window
				if want {
					times = nil
				}
				since[cid] = times
				require.Equal(t, want, got, "registration %d of %s at %s", i, cid, at.Sub(t0))
				if i%50 == 0 {
					s.lastFlapPrune = time.Time{}
					s.pruneFlaps(at)
				}
			}
			s.lastFlapPrune = time.Time{}
			s.pruneFlaps(at.Add(window + 1))
			assert.Empty(t, s.flaps)
			assert.Empty(t, s.flapsMore)
		})
	}
}

// A client with three or more registrations in the window keeps the
// older ones aside, and only while they are in it; one with two keeps
// nothing aside.
func TestFlappingKeepsEarlierRegistrationsOnlyWhileInTheWindow(t *testing.T) {
	s := New(WithFlapping(DefaultFlapLimit, time.Minute, time.Minute))
	t0 := time.Now()
	since := func(d time.Duration) int64 { return int64(t0.Add(d).Sub(s.flapEpoch)) }
	registerAt(s, "twice", t0, 0, time.Second)
	assert.Empty(t, s.flapsMore, "two registrations fit the count itself")
	registerAt(s, "often", t0, 0, time.Second, 2*time.Second, 3*time.Second)
	assert.Equal(t, map[string][]int64{"often": {since(0), since(time.Second)}}, s.flapsMore)
	assert.Equal(t, flapCount{last: since(3 * time.Second), prev: since(2 * time.Second)}, s.flaps["often"])

	s.pruneFlaps(t0.Add(time.Minute + 500*time.Millisecond)) // 0 s has left the window
	assert.Equal(t, map[string][]int64{"often": {since(time.Second)}}, s.flapsMore)
	s.pruneFlaps(t0.Add(time.Minute + 1500*time.Millisecond)) // 1 s too, and "twice" whole
	assert.Empty(t, s.flapsMore)
	assert.Equal(t, map[string]flapCount{"often": {last: since(3 * time.Second), prev: since(2 * time.Second)}}, s.flaps)
	s.pruneFlaps(t0.Add(time.Minute + 2500*time.Millisecond))
	assert.Equal(t, map[string]flapCount{"often": {last: since(3 * time.Second), prev: noFlap}}, s.flaps)
	s.pruneFlaps(t0.Add(time.Minute + 3500*time.Millisecond))
	assert.Empty(t, s.flaps)
}

// Another node's registrations count toward the limit but start no ban:
// the node that admits the registration that reaches it does. One a
// window old is not counted.
func TestRemoteRegistrationsCountButDoNotBan(t *testing.T) {
	s := New(WithFlapping(3, time.Minute, time.Minute))
	now := time.Now()
	for range 5 {
		s.CountRemoteRegistration("remote-only", now)
	}
	assert.Zero(t, s.FlappingBans(), "registrations of other nodes alone")
	s.CountRemoteRegistration("mixed", now.Add(-2*time.Minute)) // out of the window
	s.CountRemoteRegistration("mixed", now.Add(-time.Second))
	assert.Empty(t, registerAt(s, "mixed", now, 0), "two in the window: under the limit")
	assert.Equal(t, []int{0}, registerAt(s, "mixed", now, time.Second), "the third, this node's, bans")
	assert.Equal(t, []int{0}, registerAt(s, "remote-only", now, 0), "this node's after the others' reached it")
}

// The flapping ban's line says what to look for and how to lift the ban:
// it was the operator's only lead (log audit).
func TestFlappingBanLineSaysWhatToDo(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	s := New(WithFlapping(2, time.Minute, time.Minute), WithLogger(zap.New(core)))
	require.Equal(t, []int{1}, registerAt(s, "pos-7", time.Now(), 0, time.Second))
	lines := logs.FilterMessageSnippet("flapping").All()
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0].Message, "two devices sharing this ID")
	assert.Contains(t, lines[0].Message, "`cliser bans rm cid pos-7`")
	assert.Equal(t, "pos-7", lines[0].ContextMap()["cid"])
}
