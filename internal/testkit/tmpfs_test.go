package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A frozen disk whose test never thaws it is thawed and unmounted by its
// thawer: here the test stands in for one that died, never calling thaw,
// and a write blocked on the disk goes through once the thawer has run.
func TestFrozenDiskThawsItselfIfItsTestNeverDoes(t *testing.T) {
	was := frozenAtMost
	frozenAtMost = time.Second
	t.Cleanup(func() { frozenAtMost = was })
	dir, freeze := FrozenDisk(t)
	freeze()
	wrote := make(chan error, 1)
	go func() { wrote <- os.WriteFile(filepath.Join(dir, "late"), []byte("x"), 0o600) }()
	select {
	case err := <-wrote:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the disk was still frozen 30 s after a freeze its thawer should end in 1 s")
	}
	require.Eventually(t, func() bool {
		mounts, err := os.ReadFile("/proc/mounts")
		return err == nil && !strings.Contains(string(mounts), dir)
	}, 30*time.Second, 10*time.Millisecond, "the thawer unmounts it too")
}
