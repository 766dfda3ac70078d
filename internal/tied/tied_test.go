package tied_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

const (
	tiedEnv = "TIED_CHILD"
	treeEnv = "TIED_TREE_CHILD"
)

func TestMain(m *testing.M) {
	if os.Getenv(treeEnv) == "1" {
		treeChild()
		return
	}
	testkit.ChildMain(m, tiedEnv, tiedChild)
}

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

// treeChild is the child of TestTreeDiesWithItsTestProcess: a shell
// started by StartTree, and the sleep the shell started.
func treeChild() {
	testkit.TiedChild(func() ([]int, error) {
		cmd := exec.Command("sh", "-c", "sleep 60 & wait")
		tree, err := tied.StartTree(cmd)
		if err != nil || !tree {
			return nil, fmt.Errorf("a tree: %v, %w", tree, err)
		}
		sh := cmd.Process.Pid
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", sh, sh))
			if f := strings.Fields(string(kids)); len(f) == 1 {
				sleep, err := strconv.Atoi(f[0])
				return []int{sh, sleep}, err
			}
		}
		return nil, fmt.Errorf("the shell %d started no sleep", sh)
	})
}

// What a StartTree process starts is killed with it when the test
// process ends (make run's server, make's child). With Start alone the
// sleep outlived the test process.
func TestTreeDiesWithItsTestProcess(t *testing.T) {
	probe := exec.Command("true")
	tree, err := tied.StartTree(probe)
	require.NoError(t, err)
	_ = probe.Wait()
	if !tree {
		t.Skip("a PID namespace needs CAP_SYS_ADMIN, which this test process lacks")
	}
	testkit.TiedChildren(t, treeEnv)
}
