package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

// `make run`, the README's first command: the development password only
// when no password is given, and never a real password in its banner. It
// added dev-password beside a CLISER_PASSWORD_FILE, and printed a
// CLISER_PASSWORD as "development password"; then beside a config file's
// password-file, with a banner that named the defaults the file moved and
// an agent command whose "<password>" a shell reads as a redirection
// (found by the interface audits).
func TestMakeRun(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	bin := t.TempDir()
	require.NoError(t, os.Symlink(testkit.Binary(t), filepath.Join(bin, "cliser")))
	pwFile := filepath.Join(t.TempDir(), "passwords")
	require.NoError(t, os.WriteFile(pwFile, []byte("file-pw\n"), 0o600))

	for _, tc := range []struct {
		name        string
		env         []string
		config      string // a config file's passwords; it sets the addresses and data dir too
		admitted    string
		refused     string
		banner      []string
		notInBanner []string
	}{
		{"no password", nil, "", "dev-password", "file-pw", []string{"development password: dev-password"}, []string{"passwords from"}},
		{"a password file", []string{"CLISER_PASSWORD_FILE=" + pwFile}, "", "file-pw", "dev-password",
			[]string{"passwords from CLISER_PASSWORD_FILE"}, []string{"dev-password"}},
		{"a password", []string{"CLISER_PASSWORD=prod-S3cret"}, "", "prod-S3cret", "dev-password",
			[]string{"passwords from CLISER_PASSWORD"}, []string{"prod-S3cret"}},
		{"a config file's password file", nil, "password-file: " + pwFile, "file-pw", "dev-password",
			[]string{"passwords from the config file", ":7070 (or the config file's listen)", "(or the config file's admin-listen)",
				"./data (or the config file's data-dir)", "--server localhost:PORT"},
			[]string{"dev-password", "protocol on :7070,"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := "127.0.0.1:" + freePort(t)
			env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, tc.env...)
			settings := []string{"CLISER_LISTEN=" + addr, "CLISER_ADMIN_LISTEN=off", "CLISER_DATA_DIR=" + t.TempDir()}
			if tc.config != "" {
				settings = []string{"CLISER_CONFIG=" + writeFile(t, t.TempDir(), "cliser.yaml",
					tc.config+"\nlisten: "+addr+"\nadmin-listen: \"off\"\ndata-dir: "+t.TempDir()+"\n")}
			}
			out := runMake(t, root, bin, append(env, settings...))
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("make run wrote:\n%s", out)
				}
			})
			waitReady(t, addr, out)
			testkit.Dial(t, addr).Register(tc.admitted, "make-run-1")
			c := testkit.Dial(t, addr)
			c.Send("110 " + tc.refused + "\n")
			c.ExpectClosed("110 password", "190 auth failed")
			banner, _, _ := strings.Cut(out.String(), "cliser ready") // the server's own lines come after
			for _, want := range tc.banner {
				assert.Contains(t, banner, want)
			}
			for _, not := range tc.notInBanner {
				assert.NotContains(t, banner, not)
			}
			_, agent, ok := strings.Cut(banner, "or run an agent")
			require.True(t, ok, banner)
			agent, _, _ = strings.Cut(agent, "\n")
			_, command, _ := strings.Cut(agent, ":  ")
			assert.NotRegexp(t, `[<>|;&]`, command, "the agent command pasted into a shell")
			if tc.config != "" {
				return
			}
			// The commands dial the address CLISER_LISTEN names: they said
			// localhost, which a server listening on one address of another
			// interface refuses.
			host, port, err := net.SplitHostPort(addr)
			require.NoError(t, err)
			assert.Contains(t, banner, "nc "+host+" "+port+" ")
			assert.Contains(t, command, "--server "+addr+" ")
			if tc.admitted != "dev-password" {
				return // the command names no password: it is the operator's to set
			}
			// Pasted as printed, the agent registers.
			pasted := exec.Command("sh", "-c", command)
			pasted.Env = env
			agentOut := &testkit.LockedBuffer{}
			pasted.Stdout, pasted.Stderr = agentOut, agentOut
			pasted.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			require.NoError(t, tied.Start(pasted))
			defer func() {
				_ = syscall.Kill(-pasted.Process.Pid, syscall.SIGTERM)
				_ = pasted.Wait()
			}()
			require.Eventually(t, func() bool { return strings.Contains(agentOut.String(), `"msg":"registered"`) },
				10*time.Second, 20*time.Millisecond, "the pasted agent command did not register:\n%s", agentOut)
		})
	}
}

// runMake starts `make run` with BIN holding a built cliser (the build
// step taken as done), in a process group of its own, stopped at the end.
// Its server is make's child: tied as a tree, it dies with this test
// process even when no cleanup runs.
func runMake(t *testing.T, root, bin string, env []string) *testkit.LockedBuffer {
	t.Helper()
	cmd := exec.Command("make", "-s", "-C", root, "-o", "build", "run", "BIN="+bin)
	cmd.Env = env
	out := &testkit.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tree, err := tied.StartTree(cmd)
	require.NoError(t, err)
	if !tree {
		t.Log("make run's server is not tied to this test process: a PID namespace needs CAP_SYS_ADMIN")
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return out
}

// waitReady waits for the ready line of the server make run started,
// naming addr: that server, not another process that took the port after
// it was picked, holds it. A bare connect passed once before a
// registration was reset with nothing read (CI, load 5), and the test
// said nothing of what make run wrote.
func waitReady(t *testing.T, addr string, out *testkit.LockedBuffer) {
	t.Helper()
	require.Eventually(t, func() bool {
		for line := range strings.Lines(out.String()) {
			if strings.Contains(line, "cliser ready") && strings.Contains(line, `"`+addr+`"`) {
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "make run's server never said it was ready on %s:\n%s", addr, out)
}
