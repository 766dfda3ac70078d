package harness

import (
	"os/exec"
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

const tiedEnv = "HARNESS_TIED_CHILD"

// tiedChild is TestChildrenDieWithTheHarness's harness: two sleeps, one
// pinned and one not.
func tiedChild() {
	testkit.TiedChild(func() ([]int, error) {
		usable, err := usableCPUs()
		if err != nil {
			return nil, err
		}
		var pids []int
		for _, cpus := range []CPUSet{nil, usable[:1]} {
			cmd := exec.Command("sleep", "60")
			if err := startOn(cmd, cpus); err != nil {
				return nil, err
			}
			pids = append(pids, cmd.Process.Pid)
		}
		return pids, nil
	})
}

// The harness's children, pinned or not, are killed when the harness
// ends without its cleanups, and not when the thread that asked for them
// ends. A CI run stopped by killing its test binaries left a `cliser
// serve` of TestSoakSmallWithEveryFeature running.
func TestChildrenDieWithTheHarness(t *testing.T) { testkit.TiedChildren(t, tiedEnv) }
