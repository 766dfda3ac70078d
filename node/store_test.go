package node

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/registry/logstore"
)

// dataDirUsed: a registry.log with its header at least (a start got that
// far), or beside another data file, is a used dir's; a log shorter than
// its header alone is a first start's that failed (a full disk), whose
// next start must not warn of lost files. The boundary is the header's
// length (mutation audit: ">=" made ">" survived every test).
func TestDataDirUsedFromTheLogsHeaderOn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		logLen  int
		besides string
		used    bool
	}{
		{"no log", -1, "", false},
		{"empty log", 0, "", false},
		{"part of the header", logHeaderLen - 1, "", false},
		{"the header", logHeaderLen, "", true},
		{"empty log beside identity.db", 0, boltstore.FileName, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.logLen >= 0 {
				require.NoError(t, os.WriteFile(filepath.Join(dir, logstore.LogName), make([]byte, tc.logLen), 0o600))
			}
			if tc.besides != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, tc.besides), nil, 0o600))
			}
			assert.Equal(t, tc.used, dataDirUsed(dir))
		})
	}
}

// A data dir on a file system mounted read-only said only "read-only
// file system" (upgrade audit); the permission refusals say what to do,
// and so does this one now. The error as the OS gives it: mounting a
// read-only file system needs a privilege a test should not take.
func TestDataDirErrorSaysAReadOnlyMountWhatToDo(t *testing.T) {
	err := dataDirError("/srv/cliser", &os.PathError{Op: "open", Path: "/srv/cliser/registry.log", Err: syscall.EROFS})
	assert.ErrorIs(t, err, syscall.EROFS)
	assert.Contains(t, err.Error(), "data dir /srv/cliser: open /srv/cliser/registry.log: read-only file system")
	assert.Contains(t, err.Error(), "remount it read-write, or give --data-dir a directory on a writable one")
}

// A data dir cliser's user may not make was told to chown the dir that
// is not there, a command that fails too (cluster audit): it is told to
// make it for that user.
func TestDataDirErrorOfADirItMayNotMakeSaysMakeIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-there")
	err := dataDirError(dir, &os.PathError{Op: "mkdir", Path: dir, Err: syscall.EACCES})
	assert.Contains(t, err.Error(), fmt.Sprintf("mkdir -p %s && chown %d %s", dir, os.Geteuid(), dir))
	assert.NotContains(t, err.Error(), "chown -R")
}
