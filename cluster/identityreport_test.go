package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A change's closes wait for its report and run once, together; a report
// that came a moment before its change lets them run at once; with no
// report they run after reportWait, counted late.
func TestReportsReleaseClosesOnceByReportOrBound(t *testing.T) {
	var r reports
	var mu sync.Mutex
	var ran, results []string
	closer := func(name string) func() {
		return func() { mu.Lock(); defer mu.Unlock(); ran = append(ran, name) }
	}
	count := func(result string) { mu.Lock(); defer mu.Unlock(); results = append(results, result) }
	got := func() ([]string, []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ran...), append([]string(nil), results...)
	}

	r.after("bans.cid.a", closer("a1"), count)
	r.after("bans.cid.a", closer("a2"), count)
	closes, _ := got()
	assert.Empty(t, closes, "held until the report")
	r.reported("bans.cid.a")
	closes, counted := got()
	assert.Equal(t, []string{"a1", "a2"}, closes)
	assert.Equal(t, []string{reportCame}, counted, "one wait, one count")

	r.reported("cliser_credentials.b") // the report before the change (its notice lost)
	r.reported("bans.cid.other")       // another key's report does not forget b's
	r.after("cliser_credentials.b", closer("b"), count)
	closes, _ = got()
	assert.Equal(t, []string{"a1", "a2", "b"}, closes, "at once")

	t0 := time.Now()
	r.after("bans.cid.c", closer("c"), count)
	require.Eventually(t, func() bool { c, _ := got(); return len(c) == 4 }, 5*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(t0), reportWait, "no report: closed at the bound")
	closes, counted = got()
	assert.Equal(t, "c", closes[3])
	assert.Equal(t, []string{reportCame, reportCame, reportLate}, counted)
	r.reported("bans.cid.c") // a report after the bound runs nothing again
	closes, _ = got()
	assert.Len(t, closes, 4)
}
