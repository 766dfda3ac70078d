package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The containers, volumes, networks and images the tests make live in
// podman, not under this process: a test binary that died on its
// -timeout, its cleanups never run, left them running. Each name holds
// this process's run token, and a reaper removes whatever holds it once
// the process has ended, however it ended.

// runToken is in the name of everything this test process makes in podman.
var runToken = func() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}()

// reapScript waits for its standard input to end, which happens when the
// test process that holds the pipe's other end ends, and then removes
// what holds the token ($1) in its name. podman's global flags follow.
const reapScript = `token=$1; shift
while read -r _; do :; done
for id in $(podman "$@" ps -a -q --filter "name=$token"); do podman "$@" rm -f -v "$id"; done
for v in $(podman "$@" volume ls -q --filter "name=$token"); do podman "$@" volume rm -f "$v"; done
for n in $(podman "$@" network ls -q --filter "name=$token"); do podman "$@" network rm -f "$n"; done
for i in $(podman "$@" images -q --filter "reference=*$token*"); do podman "$@" rmi -f "$i"; done
`

var (
	reaperOnce sync.Once
	reaperErr  error
	// reaperPipe is never closed: the process's end closes it, and
	// that end is the reaper's signal.
	reaperPipe *os.File
)

// startReaper starts the reaper once per process. It is not tied
// (tied.Start would kill it with the process it outlives on purpose) and
// runs in a session of its own, so that a signal to the test's process
// group does not reach it either. Safe from any goroutine.
func startReaper() error {
	reaperOnce.Do(func() {
		r, w, err := os.Pipe()
		if err != nil {
			reaperErr = err
			return
		}
		defer r.Close()
		cmd := exec.Command("sh", append([]string{"-c", reapScript, "reaper", runToken}, podmanGlobal...)...)
		cmd.Stdin = r
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if reaperErr = cmd.Start(); reaperErr != nil {
			_ = w.Close()
			return
		}
		// Not waited for: it is to outlive this process, and a goroutine
		// waiting for it would be one the leak check finds.
		reaperPipe = w
	})
	if reaperErr != nil {
		return fmt.Errorf("the podman reaper: %w", reaperErr)
	}
	return nil
}

// reapEnv makes the test binary the child of
// TestPodmanThingsGoWhenTheTestProcessDies.
const reapEnv = "CLISER_E2E_REAP_CHILD"

// reapChild makes a volume named with its token, prints the name and
// exits with no cleanup, as a test binary that panics on its -timeout.
func reapChild() {
	name := "cliser-e2e-reap-" + runToken
	err := startReaper()
	if err == nil {
		_, err = podman("volume", "create", name)
	}
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(1)
	}
	fmt.Println(name)
	os.Exit(0)
}

// A podman volume made by a test process that then dies without its
// cleanups is removed by the reaper: before it, one was left behind
// for good.
func TestPodmanThingsGoWhenTheTestProcessDies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs podman")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed: apt-get install -y podman runc (.ci/run does)")
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), reapEnv+"=1")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	name := strings.TrimSpace(string(out))
	require.True(t, strings.HasPrefix(name, "cliser-e2e-reap-"), "child said %q", out)
	t.Cleanup(func() { _, _ = podman("volume", "rm", "-f", name) })
	require.Eventually(t, func() bool {
		left, err := podman("volume", "ls", "-q", "--filter", "name="+name)
		return err == nil && left == ""
	}, 30*time.Second, 100*time.Millisecond, "the volume %s outlived the test process that made it", name)
}
