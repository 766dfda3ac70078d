package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

func TestHeldPercentKeepsThePeakGoalForTheWindow(t *testing.T) {
	h := newGCHold(50, time.Minute)
	t0 := time.Unix(1000, 0)
	const mb = 1 << 20

	assert.Equal(t, 50, h.heldPercent(20*mb, 20*mb, t0), "a rising heap runs at base")
	assert.InDelta(t, 30*mb, h.peak, 1)

	// The fleet left: live 6 MB. The goal stays 30 MB: 6 + 6*400/100.
	assert.Equal(t, 400, h.heldPercent(6*mb, 6*mb, t0.Add(30*time.Second)))
	assert.Equal(t, 400, h.heldPercent(6*mb, 6*mb, t0.Add(time.Minute)), "held through the window")
	assert.Equal(t, 50, h.heldPercent(6*mb, 6*mb, t0.Add(time.Minute+time.Second)), "and let go after it")
	assert.InDelta(t, 9*mb, h.peak, 1, "the new peak is the goal base gives")

	assert.Equal(t, 50, h.heldPercent(0, 0, t0.Add(62*time.Second)), "nothing to scan")

	// A heap back at its peak (9 MB) holds it anew from then: a fleet at
	// its size for long keeps its goal a window past its last cycle there.
	assert.Equal(t, 50, h.heldPercent(6*mb, 6*mb, t0.Add(100*time.Second)))
	assert.Equal(t, 200, h.heldPercent(3*mb, 3*mb, t0.Add(150*time.Second)), "the window runs from the last cycle at the peak")
}

// The hold runs on the real runtime: after a GC that finds a large heap
// gone, the runtime's GC percent and heap goal stay up; stop puts base back.
func TestGCHoldRaisesTheRuntimesGoalAfterTheHeapFalls(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	h := newGCHold(50, time.Hour)
	h.start()
	defer h.stop()

	live := make([][]byte, 64) // 64 MiB, live through two cycles
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	runtime.GC()
	runtime.KeepAlive(live)
	live = nil
	require.Eventually(t, func() bool {
		runtime.GC()
		return h.currentPercent() > 50
	}, 10*time.Second, 10*time.Millisecond, "the hold raised the percent after the heap fell")
	assert.Equal(t, h.currentPercent(), debug.SetGCPercent(h.currentPercent()), "the runtime runs the held percent")
	goal := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(goal)
	assert.Greater(t, goal[0].Value.Uint64(), uint64(64<<20), "the goal stays near the 64 MiB heap's (base's: ~96 MiB)")

	h.stop()
	assert.Equal(t, 50, debug.SetGCPercent(50), "stop puts base back")
}

func TestGCHoldOffLeavesThePercentAlone(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	for _, h := range []*gcHold{newGCHold(50, 0), newGCHold(-1, time.Hour)} {
		h.start()
		runtime.GC()
		runtime.GC()
		assert.Equal(t, 50, debug.SetGCPercent(50), "no hold with window 0 or GOGC=off")
	}
}

// `serve` logs the percent and the hold it runs with, and takes --gc-hold.
func TestBinaryServeLogsItsGCSettings(t *testing.T) {
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "GOGC="}
	p := testkit.Serve(t, env, serveArgs(t.TempDir(), "--gc-hold", "45s")...)
	logs := p.LogText()
	assert.Contains(t, logs, `"gc_percent":50`)
	assert.Contains(t, logs, `"gc_hold":45`)
	p.Terminate(t)

	p = testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "GOGC=80"}, serveArgs(t.TempDir())...)
	assert.Contains(t, p.LogText(), `"gc_percent":80`, "GOGC stands")
	assert.Contains(t, p.LogText(), `"gc_hold":300`, "the default hold")
	p.Terminate(t)

	p = testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "GOGC=off"}, serveArgs(t.TempDir())...)
	assert.Contains(t, p.LogText(), `"gc_percent":-1,"gc_hold":0}`, "no hold under GOGC=off, and the line says so")
	p.Terminate(t)
}
