package e2e

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

// TestMain fails the package's tests when goroutines outlive them: a
// leaked reader, ticker or event loop shows here with its stack.
// IgnoreCurrent spares only what runs before any test: the goroutines
// package init starts for the life of the process (gnet's default ants
// pool purges and ticks from init), and the forker of tied processes,
// which lives as long as the process (tied.Thread). testkit.Main
// removes the cliser build the tests run. As the child of
// TestPodmanThingsGoWhenTheTestProcessDies, it runs no test.
func TestMain(m *testing.M) {
	if os.Getenv(reapEnv) == "1" {
		reapChild()
	}
	before := goleak.IgnoreCurrent()
	testkit.Main(m, func() error { return goleak.Find(before, goleak.IgnoreTopFunction(tied.Thread)) })
}
