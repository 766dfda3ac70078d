package harness

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A small soak against the real server: samples taken, takeovers seen,
// every operation kind done, no error but the expected "190 replaced", and
// a report that says so.
func TestSoakSmallAgainstCliserServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cliser serve")
	}
	bin := testkit.Binary(t)
	s := DefaultSoak()
	s.Clients, s.Pool = 50, 10
	s.Duration, s.ChurnRate, s.SampleEvery = 3*time.Second, 60, 250*time.Millisecond
	s.Load.Concurrency = 16
	s.Load.KeepAlive, s.Load.KeepAliveTimeout = 200*time.Millisecond, 3*time.Second
	res, err := Soak(testkit.Context(t, 2*time.Minute), s, Env{CliserBin: bin, WorkDir: t.TempDir()})
	require.NoError(t, err)

	assert.GreaterOrEqual(t, len(res.Samples), minJudged, "samples")
	for _, x := range res.Samples {
		assert.Positive(t, x.RSS)
		assert.Positive(t, x.Goroutines)
		assert.Positive(t, x.FDs)
		assert.Positive(t, x.RSSAnon)
		assert.Positive(t, x.HeapInuse)
	}
	assert.Empty(t, res.Errors, "unexpected errors")
	assert.Empty(t, res.Problems)
	assert.Positive(t, res.Takeovers, "takeovers seen")
	assert.Equal(t, map[string]int64{"190 replaced": res.Takeovers}, res.Expected)
	for _, op := range []string{OpReconnect, OpTakeover, OpFresh} {
		assert.Positive(t, res.Ops[op], op)
	}
	assert.Equal(t, 0, res.Lost)
	assert.Equal(t, 50, res.End.Connected)
	assert.Equal(t, len(res.Samples)-int(float64(len(res.Samples))*res.Settings.Limits.WarmupFraction), res.Verdict.Judged)

	var md, js bytes.Buffer
	require.NoError(t, res.Markdown(&md))
	assert.Contains(t, md.String(), "takeovers seen (older connection told `190 replaced`)")
	assert.Contains(t, md.String(), "Unexpected errors: none.")
	require.NoError(t, res.WriteJSON(&js))
	var back SoakResult
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, res.Takeovers, back.Takeovers)
	assert.Len(t, back.Samples, len(res.Samples))
}
