package ui_test

import (
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

// TestMain removes the binaries this package's tests build (testkit.Main).
func TestMain(m *testing.M) { testkit.Main(m) }
