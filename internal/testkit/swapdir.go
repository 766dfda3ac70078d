package testkit

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// SwapDirForFile puts a file holding content where the directory dir is,
// in one step (RENAME_EXCHANGE), then removes the directory. Removed first
// and the file written after, a store that puts its removed dir back
// (every 10 ms in the tests) could do so in between, and the write failed
// with "is a directory" under CI load.
func SwapDirForFile(t testing.TB, dir string, content []byte) {
	t.Helper()
	in := dir + ".swap"
	require.NoError(t, os.WriteFile(in, content, 0o600))
	require.NoError(t, unix.Renameat2(unix.AT_FDCWD, in, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE))
	require.NoError(t, os.RemoveAll(in)) // the dir, under the file's name
}
