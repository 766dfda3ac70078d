package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The server unit is hardened (systemd-analyze security read 8.4 EXPOSED
// with DynamicUser= alone: metrics audit), and its syscall filter admits
// every call the server makes on its main paths: a handshake, the admin
// API, /metrics, the event stream, SIGHUP and the drain, traced with
// strace. A call outside it fails with EPERM; the scrape's mincore, left
// out, would have been one. Needs systemd-analyze and strace.
func TestServerUnitIsHardenedAndAdmitsTheServersSyscalls(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: systemd)")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed (Debian: strace)")
	}
	dir := t.TempDir()
	unit := readRepoFile(t, "deploy/systemd/cliser.service")
	offline := filepath.Join(dir, "cliser.service")
	require.NoError(t, os.WriteFile(offline, []byte(strings.ReplaceAll(unit, "/usr/local/bin/cliser", "/bin/true")), 0o600))
	out, err := exec.Command(analyze, "security", "--offline=true", offline).CombinedOutput()
	require.NoError(t, err, "%s", out)
	score := regexp.MustCompile(`Overall exposure level for cliser.service: ([0-9.]+)`).FindSubmatch(out)
	require.NotNil(t, score, "%s", out)
	exposure, err := strconv.ParseFloat(string(score[1]), 64)
	require.NoError(t, err)
	assert.LessOrEqual(t, exposure, 3.0, "systemd-analyze security: %s", score[0])

	allowed := allowedSyscalls(t, analyze, unit)
	used := tracedServerSyscalls(t, strace, dir)
	require.Greater(t, len(used), 20, "strace saw too few calls to judge: %v", used)
	for _, call := range used {
		assert.True(t, allowed[call], "the server calls %s, which the unit's SystemCallFilter does not admit", call)
	}
}

// allowedSyscalls is what the unit's SystemCallFilter= lines admit.
func allowedSyscalls(t *testing.T, analyze, unit string) map[string]bool {
	t.Helper()
	allowed := map[string]bool{}
	var expand func(name string)
	expand = func(name string) {
		if !strings.HasPrefix(name, "@") {
			allowed[name] = true
			return
		}
		out, err := exec.Command(analyze, "syscall-filter", name).Output()
		require.NoError(t, err, name)
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.TrimSpace(line); f != "" && f != name && !strings.HasPrefix(f, "#") {
				expand(f)
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^SystemCallFilter=(.+)$`).FindAllStringSubmatch(unit, -1) {
		for _, f := range strings.Fields(m[1]) {
			require.False(t, strings.HasPrefix(f, "~"), "a deny list: this test reads allow lists only")
			expand(f)
		}
	}
	require.NotEmpty(t, allowed, "the unit has no SystemCallFilter=")
	return allowed
}

// tracedServerSyscalls runs the server under strace through its main
// paths and returns the calls it made.
func tracedServerSyscalls(t *testing.T, strace, dir string) []string {
	t.Helper()
	trace := filepath.Join(dir, "trace")
	pwFile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(opsPassword+"\n"), 0o600))
	p := testkit.ServeWrapped(t, []string{strace, "-f", "-qq", "-o", trace}, nil,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--password-file", pwFile)
	c := testkit.Dial(t, p.Addr)
	c.Register(opsPassword, "traced-1")
	base := p.AdminURL(t)
	for _, path := range []string{"/metrics", "/v1/clients", "/v1/events?limit=5", "/v1/clients/traced-1/history", "/ui/"} {
		code, body := testkit.HTTPGet(t, base+path)
		require.Equal(t, 200, code, "%s: %s", path, body)
	}
	_, _, err := runCLI(t, "credentials", "add", "traced-2", "--admin", base)
	require.NoError(t, err)
	// The server is strace's child: signals go to it, and strace ends with it.
	server := tracedChild(t, p.Cmd.Process.Pid)
	require.NoError(t, syscall.Kill(server, syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), "passwords reloaded") }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, syscall.Kill(server, syscall.SIGTERM))
	assert.Equal(t, 0, p.Wait(t), p.LogText())
	b, err := os.ReadFile(trace)
	require.NoError(t, err)
	seen := map[string]bool{}
	call := regexp.MustCompile(`(?m)^\d+\s+([a-z0-9_]+)\(`)
	for _, m := range call.FindAllStringSubmatch(string(b), -1) {
		seen[m[1]] = true
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	return out
}

// tracedChild is the pid of strace's one child.
func tracedChild(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
	require.NoError(t, err)
	f := strings.Fields(string(b))
	require.Len(t, f, 1, "strace's children: %q", b)
	child, err := strconv.Atoi(f[0])
	require.NoError(t, err)
	return child
}
