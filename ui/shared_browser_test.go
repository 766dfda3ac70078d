package ui_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The shared chromium, killed (a crash, the OOM killer), is started again
// for the next test instead of failing every test after it.
func TestSharedChromiumStartsAgainAfterItDied(t *testing.T) {
	needChromium(t)
	p := newBrowser(t)
	var two int
	p.eval(`1 + 1`, &two)
	require.Equal(t, 2, two)
	dead := sharedBrowser(t)
	proc := chromedp.FromContext(dead).Browser.Process()
	singleton := singletonDir(t, proc.Pid)
	require.NoError(t, proc.Kill())
	require.Eventually(t, func() bool { return dead.Err() != nil }, 10*time.Second, 10*time.Millisecond,
		"chromedp cancels the context of a chromium that died")
	// Killed, it leaves the singleton directory a quit removes.
	require.NoError(t, os.RemoveAll(singleton))

	t.Run("next test", func(t *testing.T) {
		p := newBrowser(t)
		p.eval(`2 + 2`, &two)
		require.Equal(t, 4, two)
		require.NotEqual(t, dead, sharedBrowser(t))
	})
}

// singletonDir is the directory in TMPDIR that the chromium of pid made
// for its singleton socket, which its profile's SingletonSocket links to.
func singletonDir(t *testing.T, pid int) string {
	t.Helper()
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	require.NoError(t, err)
	for _, arg := range strings.Split(string(cmdline), "\x00") {
		if profile, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
			socket, err := os.Readlink(filepath.Join(profile, "SingletonSocket"))
			require.NoError(t, err)
			return filepath.Dir(socket)
		}
	}
	require.FailNow(t, "no --user-data-dir in chromium's command line", "%q", cmdline)
	return ""
}
