package testkit

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// RemoveUnderWriter is rm -rf of a dir a running store writes into,
// renamed away first, at once. rm -rf alone met the store's own writes
// ("directory not empty": it put its file back between the unlink and the
// rmdir, CI and a loaded clone), and a retry took the files it had
// meanwhile put back (load 9). Stores make their files by path, so none
// appear in the renamed dir.
func RemoveUnderWriter(t testing.TB, dir string) {
	t.Helper()
	gone := dir + ".removed"
	require.NoError(t, os.Rename(dir, gone))
	require.NoError(t, os.RemoveAll(gone))
}
