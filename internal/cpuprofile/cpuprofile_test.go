package cpuprofile

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One toggle starts a profile in FILE.part, the next completes FILE: a
// gzipped profile, which no reader sees half-written.
func TestSignalTogglesACompleteProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	t.Setenv(Env, path)
	Install()
	self, err := os.FindProcess(os.Getpid())
	require.NoError(t, err)

	require.NoError(t, Start(self, path))
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "no FILE while the profile runs")
	sum := sha256.Sum256(nil)
	for range 200_000 { // some CPU for the profile to see
		sum = sha256.Sum256(sum[:])
	}
	require.NoError(t, Stop(self, path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(b), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "a pprof file is gzipped")
	_, err = os.Stat(path + ".part")
	assert.True(t, os.IsNotExist(err), "FILE.part is renamed, not copied")
}
