package main

import (
	"context"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
)

// endToEnd skips under -short, else builds cliser and returns its path, a
// directory for the reports and a context that ends the run after timeout.
func endToEnd(t *testing.T, timeout time.Duration) (bin, dir string, ctx context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs cliser serve")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return testkit.Binary(t), t.TempDir(), ctx
}
