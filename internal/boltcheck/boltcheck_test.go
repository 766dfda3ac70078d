package boltcheck

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// A file that can not be opened is named once in the error: the OS's
// error names it already, and "open X: open X: ..." came of both.
func TestNamedNamesThePathOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "identity.db")
	_, err := Open(path, 0o600, &bolt.Options{Timeout: time.Second}, false, func(cause error) error { return cause })
	require.Error(t, err)
	msg := Named(path, err).Error()
	assert.Equal(t, 1, strings.Count(msg, path), msg)
	assert.Contains(t, msg, "open "+path)
	// One that does not name it gets it.
	assert.Equal(t, "open "+path+": boom", Named(path, assertErr("boom")).Error())
}

type assertErr string

func (e assertErr) Error() string { return string(e) }
