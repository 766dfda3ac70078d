package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/cliser/cliser/cluster"
)

// A cut splits the NATS cluster in three: every server alone, none with
// a quorum, each still answering its clients. No beat is stored anywhere,
// so a node keeps moving a round of the servers a beat (they all answer
// a dial), and every key may age out on a server's own replica. For two
// TTLs: no record may be marked "node lost", the moves stay within a
// round a beat, clients that come meanwhile are served; after the heal
// every node beats again, the moves stop, and nothing is lost.
func TestAThreePartCutHealsWithoutLosingClients(t *testing.T) {
	t.Parallel()
	const ttl = 6 * time.Second // isolated_test.go's: elections outlast 3 s under load
	nc, f := startCutFleet(t, ttl)
	urls := nc.URLs()
	beats := make([]*beatWatch, len(f.nodes))
	for i, tn := range f.nodes {
		beats[i] = watchBeats(t, urls[(i+1)%3], tn.id)
	}
	movesBefore := f.moves(t)

	for i := range 3 {
		nc.Isolate(i, true)
	}
	cut := time.Now()
	for _, tn := range f.nodes {
		cid := tn.id + "-during-cut"
		f.live[cid] = register(t, tn.srv.Addr(), cid) // served by its node alone
	}
	require.Never(t, func() bool { return f.markedLost(t) }, 2*ttl, 100*time.Millisecond,
		"a node marked records lost during the cut")
	during := f.moves(t)
	for i, tn := range f.nodes {
		moved := during[i] - movesBefore[i]
		t.Logf("%s moved %v times in the cut of %s", tn.id, moved, time.Since(cut).Round(time.Millisecond))
		// A round of the three servers a beat at most, and a beat a
		// third of a TTL at the most often: 9 a TTL, 3 more for a beat
		// begun as the cut ended.
		assert.LessOrEqual(t, moved, 9*time.Since(cut).Seconds()/ttl.Seconds()+3, "%s's moves", tn.id)
		assert.Positive(t, moved, "%s moved off its server, where beats fail", tn.id)
	}

	for i := range 3 {
		nc.Isolate(i, false)
	}
	healed := time.Now()
	var back time.Time
	for i, w := range beats {
		at := w.firstRenewalAfter(t, healed, 3*ttl)
		t.Logf("%s: first beat stored %s after the heal", f.nodes[i].id, at.Sub(healed))
		if at.After(back) {
			back = at
		}
	}
	nc.WaitCurrent(r3Streams...)
	f.assertAllListed(t, failoverBound) // the clients that came during the cut too
	// A beat begun before the last first renewal may still fail (its put
	// stored, its answer late) and move its node: it ends within its
	// timeout, an interval (ttl/3), and its move within ttl/12. Moves are
	// judged from then: the product's own bounds, not a guess.
	time.Sleep(time.Until(back.Add(ttl/3 + ttl/12)))
	settled := f.moves(t)
	require.Never(t, func() bool { return f.markedLost(t) }, time.Until(back.Add(ttl+2*time.Second)), 100*time.Millisecond,
		"a node marked records lost after the heal")
	assert.Equal(t, settled, f.moves(t), "moves after every node beat again")
	f.assertNoneLost(t)
	f.ready.assertAlways200(t) // by choice: NATS away is no reason to refuse clients
	f.assertEventLog(t)
	for _, tn := range f.nodes {
		f.assertWarnedOnceAnOutage(t, tn.id, "cluster: could not watch the bucket", "cluster: watching the bucket again")
		assert.Zero(t, f.warnings(tn.id, "cluster: NATS connection lost"), "%s: its moves are not lost connections", tn.id)
		// Its clients of the cut could not be written: one warning, with
		// the cluster's advice, not a data dir's.
		stored := f.logs.FilterLoggerName(tn.id).FilterMessageSnippet("registry: writing to the store fails").All()
		if assert.Len(t, stored, 1, "%s", tn.id) {
			assert.Contains(t, stored[0].ContextMap()["fix"], "NATS servers", "%s", tn.id)
		}
	}
}

// warnings counts node id's warnings whose message contains snippet.
func (f *r3Fleet) warnings(id, snippet string) int {
	return f.logs.FilterLoggerName(id).FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet(snippet).Len()
}

// assertWarnedOnceAnOutage: node id warned of a failure (its message
// starting with failing) at most once before each recovery (recovered)
// and once after the last, not each time it tried again.
func (f *r3Fleet) assertWarnedOnceAnOutage(t *testing.T, id, failing, recovered string) {
	t.Helper()
	warned := f.warnings(id, failing)
	back := f.logs.FilterLoggerName(id).FilterMessageSnippet(recovered).Len()
	t.Logf("%s: %q warned %d times, %q %d times", id, failing, warned, recovered, back)
	assert.LessOrEqual(t, warned, back+1, "%s: %q a warning each try", id, failing)
}

// moves is each node's count of moves off a server where beats failed.
func (f *r3Fleet) moves(t *testing.T) []float64 {
	t.Helper()
	m := make([]float64, len(f.nodes))
	for i, tn := range f.nodes {
		m[i] = tn.metric(t, cluster.MetricClusterLeftCutOff, "")
	}
	return m
}

// markedLost: some node marked records "node lost".
func (f *r3Fleet) markedLost(t *testing.T) bool {
	t.Helper()
	for _, tn := range f.nodes {
		if tn.metric(t, cluster.MetricClusterMarkedLost, "") != 0 {
			return true
		}
	}
	return false
}
