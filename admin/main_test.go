package admin

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when goroutines outlive them: a
// leaked reader, ticker or event loop shows here with its stack.
// IgnoreCurrent spares only what runs before any test: the goroutines
// package init starts for the life of the process (gnet's default ants
// pool purges and ticks from init).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
