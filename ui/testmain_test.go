package ui_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

// TestMain removes the binaries this package's tests build (testkit.Main)
// and closes the chromium they shared.
func TestMain(m *testing.M) { testkit.Main(closesBrowser{m}) }

type closesBrowser struct{ m *testing.M }

func (c closesBrowser) Run() int {
	code := c.m.Run()
	if err := closeSharedBrowser(); err != nil {
		fmt.Fprintln(os.Stderr, "ui: closing the shared chromium:", err)
		return 1
	}
	return code
}
