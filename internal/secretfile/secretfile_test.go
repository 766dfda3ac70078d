package secretfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, body []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(p, body, 0o600))
	return p
}

// The byte-order mark goes; the rest is as written.
func TestReadDropsTheByteOrderMark(t *testing.T) {
	got, err := Read(write(t, append(append([]byte{}, bom...), "pw-1\npw-2\n"...)))
	require.NoError(t, err)
	assert.Equal(t, "pw-1\npw-2\n", string(got))
}

// A file of MaxSize is read; one byte more is refused with its size,
// not read whole (a path given by mistake, read again by the agent at
// every attempt).
func TestReadRefusesAFileOverMaxSize(t *testing.T) {
	line := []byte("0123456789abcdef0123456789abcde\n") // 32 bytes
	at := bytes.Repeat(line, MaxSize/len(line))
	got, err := Read(write(t, at))
	require.NoError(t, err)
	assert.Len(t, got, MaxSize)

	p := write(t, append(at, 'x'))
	_, err = Read(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), p+" holds over 1048576 bytes: not a file of secrets")
}
