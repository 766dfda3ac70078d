package main

import (
	"os"
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

// TestMain removes the binaries this package's tests build (testkit.Main),
// or is TestRoundServersDieWithTheBench's bench when run as its child.
func TestMain(m *testing.M) {
	if os.Getenv(tiedServeEnv) == "1" {
		tiedServe()
	}
	testkit.Main(m)
}
