package harness

import (
	"os"
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

// TestMain removes the binaries this package's tests build (testkit.Main),
// or, as TestChildrenDieWithTheHarness's child, starts and leaves.
func TestMain(m *testing.M) {
	if os.Getenv(tiedEnv) == "1" {
		tiedChild()
		return
	}
	testkit.Main(m)
}
