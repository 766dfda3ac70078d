package e2e

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/cliser/cliser/internal/testkit"
)

// TestMain fails the package's tests when goroutines outlive them: a
// leaked reader, ticker or event loop shows here with its stack.
// IgnoreCurrent spares only what runs before any test: the goroutines
// package init starts for the life of the process (gnet's default ants
// pool purges and ticks from init), and testkit's starter of processes,
// which lives as long as the process (testkit.TiedParent). testkit.Main
// removes the cliser build the tests run.
func TestMain(m *testing.M) {
	before := goleak.IgnoreCurrent()
	testkit.Main(m, func() error { return goleak.Find(before, goleak.IgnoreTopFunction(testkit.TiedParent)) })
}
