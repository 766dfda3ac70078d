package testkit

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cliser/cliser/internal/tied"
)

// StartChild runs the test binary again as a child process with env=1 in
// its environment (its TestMain serves instead of testing when it sees
// it), for a benchmark that must not count the other side's CPU. It
// returns the first line the child prints (its address, say); the child's
// stdin closes when t ends, which is its signal to exit.
func StartChild(t testing.TB, env string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), env+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tied.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child process: %q %v", line, err)
	}
	return strings.TrimSpace(line)
}

// ChildMain is the TestMain of a package with a StartChild child: serve
// when env is set (the child), the tests otherwise.
func ChildMain(m *testing.M, env string, serve func()) {
	if os.Getenv(env) == "1" {
		serve()
		return
	}
	os.Exit(m.Run())
}
