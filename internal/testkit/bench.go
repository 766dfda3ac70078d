package testkit

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// BenchBinary returns the path of cliser-bench, built from the bench
// module (bench/ of this checkout) the first time it is called. Tests of
// the product module drive its load engine through `cliser-bench worker`
// processes: the bench code is a module of its own, and the load runs
// without the race detector the test binary may carry. Safe from any
// goroutine.
func BenchBinary(t testing.TB) string {
	t.Helper()
	benchOnce.Do(func() {
		root, err := productDir()
		if err != nil {
			benchErr = err
			return
		}
		benchPath, benchErr = goBuild(filepath.Join(root, "bench"), "./cmd/cliser-bench", "cliser-bench")
	})
	require.NoError(t, benchErr)
	return benchPath
}
