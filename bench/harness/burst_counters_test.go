package harness

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The counters read the real /proc: pages touched for the first time are
// faults, sleeps are voluntary switches, and the CPU burnt is this
// process's, not the machine's others'.
func TestCountersSeeThisProcessFaultAndSwitch(t *testing.T) {
	end := counterWindow(os.Getpid(), nil)
	pages := make([]byte, 32<<20)
	for i := 0; i < len(pages); i += 4096 {
		pages[i] = 1
	}
	for range 10 {
		time.Sleep(time.Millisecond)
	}
	c := end()
	assert.Positive(t, c.MinorFaults, "32 MiB touched")
	assert.Positive(t, c.VoluntarySwitches, "ten sleeps")
	assert.GreaterOrEqual(t, c.InvoluntarySwitches, int64(0))
	assert.GreaterOrEqual(t, c.RunqueueWait, 0.0)
	assert.GreaterOrEqual(t, c.OthersCPU, 0.0)
	assert.GreaterOrEqual(t, c.Steal, 0.0)
	assert.Nil(t, c.GCCycles, "no collector read")
}

// The /proc parsers' golden cases: a file as the kernel writes it, and
// refused ones (the fuzz targets' seeds too).
var (
	switchesGolden     = "Name:\tcliser\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t1523\nnonvoluntary_ctxt_switches:\t17\n"
	switchesRefused    = []string{"", "voluntary_ctxt_switches:\t1\n", "voluntary_ctxt_switches:\tx\nnonvoluntary_ctxt_switches:\t1\n", "voluntary_ctxt_switches:\t-1\nnonvoluntary_ctxt_switches:\t1\n"}
	minorFaultsGolden  = "4242 (cliser (x) y) S 1 4242 4242 0 -1 4194560 98765 0 0 0 120 30 0 0 20 0 9 0"
	minorFaultsRefused = []string{"", "1 (a) S 1 2", "1 (a) S 1 2 3 4 5 x 7"}
	cpuLineGolden      = "cpu  100 5 50 9000 7 3 2 40 11 0"
	cpuLineRefused     = []string{"", "cpu0 1 2 3 4", "cpu 1 2 3", "cpu 1 2 x 4", "cpu 1 2 -3 4"}
)

func TestParseSwitches(t *testing.T) {
	v, i, err := parseSwitches([]byte(switchesGolden))
	require.NoError(t, err)
	assert.Equal(t, [2]int64{1523, 17}, [2]int64{v, i})
	for _, bad := range switchesRefused {
		_, _, err := parseSwitches([]byte(bad))
		assert.ErrorIs(t, err, errSwitches, "%q", bad)
	}
}

func TestParseMinorFaults(t *testing.T) {
	n, err := parseMinorFaults([]byte(minorFaultsGolden))
	require.NoError(t, err)
	assert.EqualValues(t, 98765, n)
	for _, bad := range minorFaultsRefused {
		_, err := parseMinorFaults([]byte(bad))
		assert.ErrorIs(t, err, errStat, "%q", bad)
	}
	b, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	n, err = parseMinorFaults(b)
	require.NoError(t, err, "%q", b)
	assert.Positive(t, n)
}

// Steal apart from busy; idle, iowait and the guest times in neither.
func TestParseCPULine(t *testing.T) {
	m, err := parseCPULine([]byte(cpuLineGolden))
	require.NoError(t, err)
	assert.Equal(t, machineTimes{busy: 1600 * time.Millisecond, steal: 400 * time.Millisecond}, m)
	for _, bad := range cpuLineRefused {
		_, err := parseCPULine([]byte(bad))
		assert.ErrorIs(t, err, errCPULine, "%q", bad)
	}
}

func FuzzParseSwitches(f *testing.F) {
	addSeeds(f, switchesGolden, switchesRefused)
	f.Add([]byte("voluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, i, err := parseSwitches(b); err == nil && (v < 0 || i < 0) {
			t.Fatalf("%q: negative %d %d", b, v, i)
		}
	})
}

func FuzzParseMinorFaults(f *testing.F) {
	addSeeds(f, minorFaultsGolden, minorFaultsRefused)
	f.Add([]byte("1 (a b) S 1 1 1 0 -1 0 55 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = parseMinorFaults(b) })
}

func FuzzParseCPULine(f *testing.F) {
	addSeeds(f, cpuLineGolden, cpuLineRefused)
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseCPULine(b); err == nil && (m.busy < 0 || m.steal < 0) {
			t.Fatalf("%q: negative %v", b, m)
		}
	})
}

// addSeeds seeds f with a parser's golden input and its refused ones.
func addSeeds(f *testing.F, golden string, refused []string) {
	f.Add([]byte(golden))
	for _, s := range refused {
		f.Add([]byte(s))
	}
}
