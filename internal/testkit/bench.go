package testkit

import (
	"path/filepath"
	"testing"
)

// BenchBinary returns the path of cliser-bench, built from the bench
// module (bench/ of this checkout) the first time it is called. Tests of
// the product module drive its load engine through `cliser-bench worker`
// processes: the bench code is a module of its own, and the load runs
// without the race detector the test binary may carry. Safe from any
// goroutine.
func BenchBinary(t testing.TB) string {
	t.Helper()
	return benchTool(t, &benchBin, "cliser-bench")
}

// FloorBinary returns the path of floor-server, the bench module's
// minimal line server, built the first time it is called. Safe from any
// goroutine.
func FloorBinary(t testing.TB) string {
	t.Helper()
	return benchTool(t, &floorBin, "floor-server")
}

// BaselineBinary returns the path of baseline-bench-server, the design
// note's server that the bench compares cliser with, built the first time
// it is called. Safe from any goroutine.
func BaselineBinary(t testing.TB) string {
	t.Helper()
	return benchTool(t, &baselineBin, "baseline-bench-server")
}

// benchTool builds the bench module's ./cmd/<name> once, through o.
func benchTool(t testing.TB, o *once, name string) string {
	t.Helper()
	return o.get(t, func() (string, error) {
		root, err := productDir()
		if err != nil {
			return "", err
		}
		return goBuild(filepath.Join(root, "bench"), "./cmd/"+name, name)
	})
}
