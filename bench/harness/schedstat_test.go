package harness

import (
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test's own threads, read from the real /proc: run time grows with
// work, and every thread's line parses.
func TestSchedOfThisProcess(t *testing.T) {
	a, err := schedOf("self")
	require.NoError(t, err)
	assert.Positive(t, a.Run)
	b, err := os.ReadFile("/proc/self/schedstat")
	require.NoError(t, err)
	one, err := parseSchedstat(b)
	require.NoError(t, err, "%q", b)
	assert.Positive(t, one.Run)

	x := 0
	deadline := time.Now().Add(5 * time.Second)
	var after SchedTime
	for { // burn CPU until schedstat shows it (it is brought up to date at a switch)
		for i := range 100_000 {
			x += i ^ x
		}
		time.Sleep(time.Millisecond)
		after, err = schedOf("self")
		require.NoError(t, err)
		if after.Run-a.Run >= 20*time.Millisecond || time.Now().After(deadline) {
			break
		}
	}
	_ = x
	d := after.Sub(a)
	assert.GreaterOrEqual(t, d.Run, 20*time.Millisecond)
	assert.GreaterOrEqual(t, d.Wait, time.Duration(0))
	same, err := schedOf(strconv.Itoa(os.Getpid()))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, same.Run, after.Run, "self and the pid are the same threads")
}

func TestParseSchedstat(t *testing.T) {
	s, err := parseSchedstat([]byte("123456789 98765 42\n"))
	require.NoError(t, err)
	assert.Equal(t, SchedTime{Run: 123456789, Wait: 98765}, s)
	for _, bad := range []string{"", "12", "x 1 2", "1 -2 3", "1 99999999999999999999 3"} {
		_, err := parseSchedstat([]byte(bad))
		assert.ErrorIs(t, err, errSchedstat, "%q", bad)
	}
	_, err = schedOf(strconv.Itoa(1 << 30))
	assert.Error(t, err, "no such process")
}

// --load-nice's mechanism on a real child: every thread gets the value.
func TestReniceAllThreads(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.NoError(t, reniceAll([]int{cmd.Process.Pid}, 7))
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	require.NoError(t, err)
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	assert.Equal(t, "7", f[16], "nice is stat's 19th field")
	assert.Error(t, reniceAll([]int{1 << 30}, 7))
}

// The publish-to-ack delta from two real expositions of a client_golang
// histogram with the nodes' buckets: the ramp's observations alone.
func TestAckLatencyIsTheDelta(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cliser_cluster_publish_ack_seconds",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	reg := prometheus.NewRegistry()
	reg.MustRegister(h)
	page := func() *promHistogram {
		fams, err := reg.Gather()
		require.NoError(t, err)
		var sb strings.Builder
		for _, f := range fams {
			_, err := expfmt.MetricFamilyToText(&sb, f)
			require.NoError(t, err)
		}
		pg, err := parsePromText(strings.NewReader(sb.String()))
		require.NoError(t, err)
		hist, err := pg.histogram("cliser_cluster_publish_ack_seconds")
		require.NoError(t, err)
		return hist
	}
	for range 100 {
		h.Observe(0.0004) // before: fast
	}
	before := page()
	for range 98 {
		h.Observe(0.030) // the ramp: 30 ms, in the 32 ms bucket
	}
	h.Observe(3)
	h.Observe(3)
	after := page()
	a := ackLatency(before, after)
	assert.InDelta(t, 100, a.Count, 1e-9)
	assert.InDelta(t, 0.032, a.P50, 1e-12)
	assert.InDelta(t, 4.096, a.P99, 1e-12)
	h.Observe(10)
	h.Observe(10)
	assert.EqualValues(t, -1, ackLatency(before, page()).P99, "past the last bucket")
	assert.InDelta(t, (98*0.030+6)/100, a.Mean, 1e-9)
	assert.Zero(t, ackLatency(nil, nil).Count)
	assert.Zero(t, ackLatency(after, after).P50, "nothing observed")
}

func TestDrainRateOverTheSettle(t *testing.T) {
	pts := []BacklogPoint{
		{At: 0, Ramping: true, Written: 0},
		{At: time.Second, Ramping: true, Written: 5000},
		{At: 1250 * time.Millisecond, Unwritten: 3000, Written: 6000},
		{At: 2250 * time.Millisecond, Written: 9000},
		{At: 3250 * time.Millisecond, Written: 9001}, // written out: not counted
	}
	assert.InDelta(t, 3000, drainRate(pts), 1e-9)
	assert.True(t, math.IsNaN(drainRate(pts[:3])), "one settle point")
}
