package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMakeInstall runs `make install` as a packager would (PREFIX=/usr,
// DESTDIR a staging tree) and as a person would (PREFIX's default), and
// runs the installed binary. The systemd units must name the default's path.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	build := t.TempDir() // not the checkout's bin/: a person's build stays theirs
	for _, tc := range []struct{ prefix, want string }{
		{"/usr", "/usr/bin/cliser"},
		{"", "/usr/local/bin/cliser"},
	} {
		dest := t.TempDir()
		args := []string{"-s", "-C", root, "install", "DESTDIR=" + dest, "BIN=" + build}
		if tc.prefix != "" {
			args = append(args, "PREFIX="+tc.prefix)
		}
		out, err := exec.Command("make", args...).CombinedOutput()
		require.NoError(t, err, "make %v: %s", args, out)
		bin := filepath.Join(dest, tc.want)
		st, err := os.Stat(bin)
		require.NoError(t, err, "make install put no binary at %s: %s", tc.want, out)
		assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
		v, err := exec.Command(bin, "--version").CombinedOutput()
		require.NoError(t, err, "%s", v)
		assert.Regexp(t, `^cliser \S+ \(commit \S+, go`, string(v))
	}

	units, err := filepath.Glob(filepath.Join(root, "deploy", "systemd", "*.service"))
	require.NoError(t, err)
	require.NotEmpty(t, units)
	execStart := regexp.MustCompile(`(?m)^ExecStart=(\S+)`)
	for _, u := range units {
		raw, err := os.ReadFile(u)
		require.NoError(t, err)
		m := execStart.FindSubmatch(raw)
		require.NotNil(t, m, "%s has no ExecStart", u)
		assert.Equal(t, "/usr/local/bin/cliser", string(m[1]), "%s runs another path than make install's", u)
	}
}
