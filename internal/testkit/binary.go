package testkit

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Each binary is built at most once per test process: every test of a
// package that runs it shares the one build.
type once struct {
	do   sync.Once
	path string
	err  error
}

func (o *once) get(t testing.TB, build func() (string, error)) string {
	t.Helper()
	if !inMain.Load() {
		t.Fatal("testkit: this package's TestMain must call testkit.Main(m), which removes the binaries the tests build")
	}
	o.do.Do(func() { o.path, o.err = build() })
	require.NoError(t, o.err)
	return o.path
}

var cliserBin, benchBin, floorBin, baselineBin once

// Each build is ~26 MB; left behind, a day of test runs filled /tmp with
// gigabytes. Main removes them, and the builders refuse to run without it.
var (
	inMain  atomic.Bool
	builtMu sync.Mutex
	built   []string // the temporary directories the builds went into
)

// Main runs the package's tests, then the checks (a leak check, say),
// which fail a passing run with their error, removes the binaries the
// tests built, and exits with the run's status. A package whose tests call
// Binary, BenchBinary, FloorBinary, BaselineBinary, or Serve, Start and Run
// (they run Binary), calls it from TestMain:
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
//
// m is a *testing.M, or one wrapped to release what the tests shared
// after its Run (the ui tests' browser).
func Main(m interface{ Run() int }, checks ...func() error) {
	inMain.Store(true)
	code := m.Run()
	for _, check := range checks {
		if code != 0 {
			break
		}
		if err := check(); err != nil {
			os.Stderr.WriteString("testkit: " + err.Error() + "\n")
			code = 1
		}
	}
	if err := removeBuilt(); err != nil {
		os.Stderr.WriteString("testkit: " + err.Error() + "\n")
		code = 1
	}
	os.Exit(code)
}

// removeBuilt removes every build's directory. Not safe while a build
// runs: Main calls it after the tests.
func removeBuilt() error {
	builtMu.Lock()
	defer builtMu.Unlock()
	var errs []error
	for _, dir := range built {
		errs = append(errs, os.RemoveAll(dir))
	}
	built = nil
	return errors.Join(errs...)
}

// Binary returns the path of the cliser binary, built from ./cmd/cliser of
// the product module into a temporary directory the first time it is
// called; the bench module's tests use it too. Safe from any goroutine.
func Binary(t testing.TB) string {
	t.Helper()
	return cliserBin.get(t, build)
}

// build runs `go build ./cmd/cliser` in the product module's directory,
// which `go list -m` gives from the product module and from the bench
// module alike (there its replace directive names this checkout).
func build() (string, error) {
	root, err := productDir()
	if err != nil {
		return "", err
	}
	return goBuild(root, "./cmd/cliser", "cliser")
}

func productDir() (string, error) {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cliser/cliser").Output()
	return strings.TrimSpace(string(root)), err
}

// goBuild runs `go build pkg` in dir into a new temporary directory and
// returns the binary's path.
func goBuild(dir, pkg, name string) (string, error) {
	tmp, err := os.MkdirTemp("", name+"-bin-")
	if err != nil {
		return "", err
	}
	builtMu.Lock()
	built = append(built, tmp)
	builtMu.Unlock()
	path := filepath.Join(tmp, name)
	cmd := exec.Command("go", "build", "-o", path, pkg)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildFailure{out: string(out), err: err}
	}
	return path, nil
}

// buildFailure carries the compiler's output, which is what a reader of a
// failed test needs.
type buildFailure struct {
	out string
	err error
}

func (b *buildFailure) Error() string { return b.err.Error() + ": " + b.out }

// ExitCode is the exit status in an error from exec.Cmd.Wait: 0 for nil,
// -1 for a process killed by a signal or an error that is not an exit.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
