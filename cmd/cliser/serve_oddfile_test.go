package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A data file replaced by a directory is refused with exit 1 and a line
// that names it, whichever file it is. events.db exited 2 (a usage
// mistake's status) where the registry's and identity's files exit 1, and
// registry.snap said only "map ...: no such device".
func TestBinaryRefusesADirectoryForADataFile(t *testing.T) {
	for _, file := range []string{"registry.log", "registry.snap", "identity.db", events.FileName, "events.seq"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, file)
			require.NoError(t, os.Mkdir(path, 0o700))
			text, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD=odd-pw"), "serve", "--listen", "127.0.0.1:0",
				"--admin-listen", "off", "--data-dir", dir)
			assert.Equal(t, 1, code, text)
			assert.Contains(t, text, path, "the message names the file")
			assert.NotContains(t, text, "no such device")
			assert.NotContains(t, text, "cliser ready")
		})
	}
}

// A --data-dir that is a symbolic link to nothing said only "mkdir X:
// file exists" (upgrade audit): it now says what the link points to and
// what to do, and exits 2, as a --data-dir that names a file does.
func TestBinaryDataDirLinkToNothingSaysSo(t *testing.T) {
	dir := t.TempDir()
	link, target := filepath.Join(dir, "data"), filepath.Join(dir, "gone")
	require.NoError(t, os.Symlink(target, link))
	text, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD=odd-pw"), "serve", "--listen", "127.0.0.1:0",
		"--admin-listen", "off", "--data-dir", link)
	assert.Equal(t, 2, code, text)
	assert.Contains(t, text, "is a symbolic link to "+target+", which does not exist")
	assert.NotContains(t, text, "cliser ready")
}
