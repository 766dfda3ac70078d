package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A small soak against the real server with no feature on (the
// 2026-11-25 soaks' server): samples taken, takeovers seen, every
// operation kind done, no error but the expected "190 replaced", and a
// report that says so.
func TestSoakSmallAgainstCliserServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cliser serve")
	}
	bin := testkit.Binary(t)
	s := DefaultSoak()
	s.Features = nil
	s.Clients, s.Pool = 50, 10
	s.Duration, s.ChurnRate, s.SampleEvery = 3*time.Second, 60, 250*time.Millisecond
	s.Load.Concurrency = 16
	s.Load.KeepAlive, s.Load.KeepAliveTimeout = 200*time.Millisecond, 3*time.Second
	dir := t.TempDir()
	res, err := Soak(testkit.Context(t, 2*time.Minute), s, Env{CliserBin: bin, WorkDir: dir})
	require.NoError(t, err)

	assert.Equal(t, 10, res.Settings.Pool)
	assert.Equal(t, DefaultSoakLimits(50), res.Settings.Limits, "the defaults filled in")
	assert.Equal(t, ThisMachine(), res.Machine)
	assert.WithinDuration(t, time.Now(), res.Started, 2*time.Minute)
	assert.GreaterOrEqual(t, len(res.Samples), minJudged, "samples")
	for i, x := range res.Samples {
		if i > 0 {
			assert.Greater(t, x.At, res.Samples[i-1].At, "seconds since the churn began")
			assert.GreaterOrEqual(t, x.ChurnOps, res.Samples[i-1].ChurnOps, "the churn's operations so far")
		}
		assert.Positive(t, x.RSS)
		assert.Positive(t, x.Goroutines)
		assert.Positive(t, x.FDs)
		assert.Positive(t, x.RSSAnon)
		assert.Positive(t, x.HeapInuse)
	}
	assert.Empty(t, res.Errors, "unexpected errors")
	assert.Empty(t, res.Problems)
	assert.Zero(t, res.End.EventsBytes, "features not sampled")
	assert.NoFileExists(t, filepath.Join(cliserData(dir), events.FileName), "the event log off")
	assert.Positive(t, res.Takeovers, "takeovers seen")
	assert.Equal(t, map[string]int64{"190 replaced": res.Takeovers}, res.Expected)
	for _, op := range []string{OpReconnect, OpTakeover, OpFresh} {
		assert.Positive(t, res.Ops[op], op)
	}
	assert.LessOrEqual(t, res.Samples[len(res.Samples)-1].ChurnOps, res.ChurnOps(), "the last sample's count, before the churn stopped")
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

// A soak whose churn pool takes every client, and a cluster of one node,
// are refused before any server starts.
func TestSoakAndClusterRefuseTheirShapes(t *testing.T) {
	s := DefaultSoak()
	s.Clients, s.Pool = 10, 10
	_, err := Soak(context.Background(), s, Env{})
	assert.EqualError(t, err, "soak: 10 clients leave none beside a churn pool of 10")
	s.Pool = 0 // a tenth of 10: one
	s.Clients = 1
	_, err = Soak(context.Background(), s, Env{})
	assert.EqualError(t, err, "soak: 1 clients leave none beside a churn pool of 1")

	c := DefaultCluster()
	c.Nodes = 1
	_, err = Cluster(context.Background(), c, Env{})
	assert.EqualError(t, err, "cluster: want at least 2 nodes and 1 client per node")
	c.Nodes, c.PerNode = 2, 0
	_, err = Cluster(context.Background(), c, Env{})
	assert.EqualError(t, err, "cluster: want at least 2 nodes and 1 client per node")
}
