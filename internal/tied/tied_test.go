package tied_test

import (
	"os/exec"
	"testing"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

const tiedEnv = "TIED_CHILD"

func TestMain(m *testing.M) { testkit.ChildMain(m, tiedEnv, tiedChild) }

// tiedChild is the child of TestTiedProcessDiesWithItsTestProcess: a
// sleep tied to it.
func tiedChild() {
	testkit.TiedChild(func() ([]int, error) {
		cmd := exec.Command("sleep", "60")
		if err := tied.Start(cmd); err != nil {
			return nil, err
		}
		return []int{cmd.Process.Pid}, nil
	})
}

// A process a helper starts is killed when the test process ends, with
// no cleanup run (a panic on -timeout), and not when the thread that
// asked for it ends. Without Pdeathsig the sleep outlived its parent;
// started on the asking thread, it died with that thread.
func TestTiedProcessDiesWithItsTestProcess(t *testing.T) { testkit.TiedChildren(t, tiedEnv) }
