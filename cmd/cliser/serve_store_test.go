package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/boltstore"
)

// A damaged registry file stops `cliser serve` before it serves anyone:
// exit non-zero, a message that names the file and says what to do, and
// no Go panic on stderr.
func TestBinaryRefusesDamagedRegistryFile(t *testing.T) {
	for _, c := range []struct {
		name string
		hurt func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, fi.Size()/2))
		}},
		{"random bytes over the freelist", func(t *testing.T, path string) { scribble(t, path, 2, 3, 7) }},
		{"random bytes over the pages", func(t *testing.T, path string) { scribble(t, path, 2, -1, 8) }},
		{"random bytes over the metas", func(t *testing.T, path string) { scribble(t, path, 0, 2, 9) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeRegistry(t, dir, 2000)
			c.hurt(t, path)
			// A serve that started on the damaged file never exits: Run
			// fails the test after its bound.
			text, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD=damage-pw"), "serve", "--listen", "127.0.0.1:0",
				"--admin-listen", "off", "--data-dir", dir)
			assert.NotEqual(t, 0, code, text)
			assert.NotEqual(t, -1, code, "killed by a signal: %s", text)
			assert.Contains(t, text, path, "the message names the file")
			assert.Contains(t, text, "move it away")
			assert.Contains(t, text, "backup")
			assert.NotRegexp(t, `(?m)^panic|\[running\]|goroutine \d+`, text, "a Go panic reached stderr")
			assert.NotContains(t, text, "panic")
			assert.NotContains(t, text, "cliser ready")
		})
	}
}

// A zero-length registry file starts an empty registry, with a warning
// that names the file.
func TestBinaryWarnsOnZeroLengthRegistryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, boltstore.FileName)
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=empty-pw"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dir)
	c := testkit.Dial(t, p.Addr)
	c.Register("empty-pw", "after-empty")
	logs := p.LogText()
	assert.Contains(t, logs, "registry file was empty")
	assert.Contains(t, logs, path)
	assert.Contains(t, logs, `"records":0`)
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}

// writeRegistry stores n records in dir's registry file, in several
// commits so the file has a freelist, and closes it.
func writeRegistry(t *testing.T, dir string, n int) string {
	t.Helper()
	s, err := boltstore.Open(dir)
	require.NoError(t, err)
	now := time.Now().UTC()
	for i := 0; i < n; {
		var batch []registry.Record
		for ; i < n && len(batch) < 400; i++ {
			batch = append(batch, registry.Record{SID: uint16(i + 1), CID: fmt.Sprintf("dev-%05d", i),
				CIP: "10.1.2.3", CPort: "4242", ConnectedAt: now, LastSeen: now, DisconnectedAt: now})
		}
		require.NoError(t, s.Save(batch, nil))
	}
	require.NoError(t, s.Close())
	return s.Path()
}

// scribble fills pages [from, to) of path (to -1: to the end) with seeded
// random bytes.
func scribble(t *testing.T, path string, from, to int, seed uint64) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	ps := os.Getpagesize()
	end := len(raw)
	if to >= 0 {
		end = min(to*ps, len(raw))
	}
	r := rand.New(rand.NewPCG(seed, seed))
	for i := from * ps; i < end; i++ {
		raw[i] = byte(r.Uint32())
	}
	require.True(t, end > from*ps, "file too small to scribble on")
	require.NoError(t, os.WriteFile(path, raw, 0o600))
}
