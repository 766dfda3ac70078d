package harness

import (
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// ParseCPUList's golden cases: lists and how they print, and refusals
// and what they say.
var (
	cpuListGolden = map[string]string{"": "", "0": "0", " 1 ": "1", "0-2,5": "0-2,5", "5,0-2": "0-2,5",
		"3,1,2": "1-3", "0-1,1": "0-1", "7-7": "7"}
	cpuListRefused = map[string]string{"1-0": "runs backwards", "a": "not a CPU number", "-1": "not a CPU number",
		"1,": "not a CPU number", "0-": "not a CPU number", "1024": "not a CPU number", "+1": "not a CPU number", "1-2-3": "not a CPU number"}
)

func TestParseCPUList(t *testing.T) {
	for in, want := range cpuListGolden {
		c, err := ParseCPUList(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, c.String(), in)
	}
	for in, want := range cpuListRefused {
		_, err := ParseCPUList(in)
		assert.ErrorContains(t, err, want, in)
		assert.ErrorIs(t, err, errCPUList, in)
	}
}

// Whatever it is given, the parser answers a set or an error; a set, written
// and parsed again, is itself. Seeded with the golden cases.
func FuzzParseCPUList(f *testing.F) {
	for _, s := range slices.Sorted(maps.Keys(cpuListGolden)) {
		f.Add(s)
	}
	for _, s := range slices.Sorted(maps.Keys(cpuListRefused)) {
		f.Add(s)
	}
	f.Add("1023")
	f.Add("0-1023")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCPUList(s)
		if err != nil {
			return
		}
		again, err := ParseCPUList(c.String())
		require.NoError(t, err, "%q wrote %q", s, c.String())
		require.Equal(t, c, again)
	})
}

func needTwoCPUs(t *testing.T) {
	usable, err := usableCPUs()
	require.NoError(t, err)
	if len(usable) < 2 || usable[0] != 0 || usable[1] != 1 {
		t.Skipf("pinning needs CPUs 0 and 1 to use; this process may use %s", usable)
	}
}

// A child started on a CPU runs there (the kernel's Cpus_allowed_list says
// so), with GOMAXPROCS to match, a child not pinned runs on the harness's
// CPUs, and the harness itself stays on all its CPUs.
func TestStartOnPinsTheChildOnly(t *testing.T) {
	needTwoCPUs(t)
	before, err := cpusAllowed(os.Getpid())
	require.NoError(t, err)
	for _, cpu := range []string{"0", "1"} {
		cmd := exec.Command("sleep", "30")
		cpus, err := ParseCPUList(cpu)
		require.NoError(t, err)
		require.NoError(t, startOn(cmd, cpus))
		got, err := cpusAllowed(cmd.Process.Pid)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		require.NoError(t, err)
		assert.Equal(t, cpu, got)
		assert.Contains(t, cmd.Env, "GOMAXPROCS=1")
	}
	// The same thread forks every child: one not pinned after a pinned
	// one gets the harness's CPUs again.
	cmd := exec.Command("sleep", "30")
	require.NoError(t, startOn(cmd, nil))
	got, err := cpusAllowed(cmd.Process.Pid)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	require.NoError(t, err)
	assert.Equal(t, before, got, "an unpinned child after a pinned one")
	after, err := cpusAllowed(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, before, after, "the harness's own CPUs are untouched")
	mine, err := usableCPUs()
	require.NoError(t, err)
	assert.Equal(t, before, mine.String(), "nor is the thread that asks")
}

// A pinned run puts the server subprocess and every load process on the
// CPUs asked, and says so in its result; unpinned, they may use every CPU.
func TestAPinnedRunPutsServerAndLoadOnTheirCPUs(t *testing.T) {
	needTwoCPUs(t)
	env := Env{WorkDir: t.TempDir(), FloorBin: testkit.FloorBinary(t), WorkerExe: testkit.BenchBinary(t)}
	set := tiny()
	set.Burst, set.Probes = 0, 0
	set.PerWorker = 30 // two load processes for 50 clients
	set.ServerCPUs, set.LoadCPUs = "0", "1"
	res, err := Run(runCtx(t), KindFloor, set, env)
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	require.NotNil(t, res.Pinning)
	assert.Equal(t, Pinning{ServerCPUs: "0", LoadCPUs: "1", ServerAllowed: "0", LoadAllowed: []string{"1", "1"}}, *res.Pinning)
	assert.Positive(t, res.Idle.KeepAlives)
	assert.GreaterOrEqual(t, res.Idle.ServerWaitPercent, 0.0)

	set.ServerCPUs, set.LoadCPUs = "", ""
	res, err = Run(runCtx(t), KindFloor, set, env)
	require.NoError(t, err)
	all, err := usableCPUs()
	require.NoError(t, err)
	assert.Equal(t, all.String(), res.Pinning.ServerAllowed)
	assert.Equal(t, strings.Repeat(all.String()+" ", 2), strings.Join(res.Pinning.LoadAllowed, " ")+" ")
}

// Only what the harness starts as a process can be pinned.
func TestPinningRefusesWhatItCannotPin(t *testing.T) {
	set := tiny()
	set.ServerCPUs = "0"
	_, err := Run(runCtx(t), KindInproc, set, Env{WorkDir: t.TempDir()})
	assert.ErrorContains(t, err, "only a server subprocess the harness starts can be pinned, not cliser-inproc")
	set.ServerCPUs, set.LoadCPUs = "", "0"
	_, err = Run(runCtx(t), KindInproc, set, Env{WorkDir: t.TempDir()})
	assert.ErrorContains(t, err, "only load processes can be pinned")
}
