package testkit

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/tied"
)

// runLimit bounds a command the tests expect to end by itself: a refusal
// that hangs instead (a serve that started after all) fails the test.
const runLimit = 30 * time.Second

// Run runs the cliser binary with args, in a fresh directory (no file of
// the checkout is read as its own), until it exits, and returns what it
// wrote to stdout and stderr together and its exit status. env is its
// whole environment: build it with Environ. Safe from any goroutine.
func Run(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env, cmd.Dir = env, t.TempDir()
	return RunCmd(t, cmd)
}

// RunCmd is Run of a command made by the caller (another user's, say):
// its output and exit code, a failure of t past the same bound.
func RunCmd(t testing.TB, cmd *exec.Cmd) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := tied.Start(cmd); err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), ExitCode(err)
	case <-time.After(runLimit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within %v:\n%s", cmd.Args, runLimit, out.String())
		return "", -1
	}
}

// Environ is this process's environment without the variables named in
// unset (a CLISER_PASSWORD the test must not inherit) and with set, each
// "NAME=value", added.
func Environ(unset []string, set ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, name) {
			env = append(env, kv)
		}
	}
	return append(env, set...)
}
