package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const agentTestPassword = "agent-s3cret"

// agentServer is the real reactor on 127.0.0.1:0 with its registry.
func agentServer(t *testing.T, opts ...reactor.Option) (*reactor.Server, *registry.Registry) {
	t.Helper()
	reg := registry.New()
	base := []reactor.Option{
		reactor.WithAddr("127.0.0.1:0"),
		reactor.WithPasswords([][]byte{[]byte(agentTestPassword)}),
		reactor.WithLoops(1),
		reactor.WithLogger(zap.NewNop()),
	}
	srv, err := reactor.New(reg, append(base, opts...)...)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	testkit.StopAtEnd(t, srv.Stop)
	return srv, reg
}

// startAgent runs `cliser agent args...` without this process's
// CLISER_PASSWORD, with env added.
func startAgent(t *testing.T, env []string, args ...string) *testkit.Process {
	t.Helper()
	return testkit.Start(t, testkit.Environ([]string{"CLISER_PASSWORD"}, env...), append([]string{"agent"}, args...)...)
}

func connectedRecord(reg *registry.Registry, cid string) func() bool {
	return func() bool {
		r, ok := reg.Get(cid)
		return ok && r.CStatus
	}
}

func TestAgentBinaryShutdownRunsHookOnceAndExitsZero(t *testing.T) {
	srv, reg := agentServer(t, reactor.WithKeepAlive(50*time.Millisecond, time.Second))
	hookFile := filepath.Join(t.TempDir(), "hook.out")
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword},
		"--server", srv.Addr(), "--id", "e2e-agent-1",
		"--on-shutdown", `printf '%s|%s\n' "$CLISER_SHUTDOWN_REASON" "${CLISER_PASSWORD:-nopw}" >> `+hookFile)

	require.Eventually(t, connectedRecord(reg, "e2e-agent-1"), 10*time.Second, 10*time.Millisecond, p.LogText())
	first, _ := reg.Get("e2e-agent-1")
	// Several keep-alive intervals pass and the agent stays registered:
	// it answers them (an unanswered one closes it within a second).
	require.Eventually(t, func() bool {
		r, _ := reg.Get("e2e-agent-1")
		return r.CStatus && r.LastSeen.Sub(first.LastSeen) >= 200*time.Millisecond
	}, 10*time.Second, 10*time.Millisecond)

	conn, err := reg.Conn("e2e-agent-1")
	require.NoError(t, err)
	require.NoError(t, conn.Shutdown("maintenance window"))

	assert.Equal(t, 0, p.Wait(t), p.LogText())
	out, err := os.ReadFile(hookFile)
	require.NoError(t, err, p.LogText())
	assert.Equal(t, "maintenance window|nopw\n", string(out), "hook ran exactly once, without the password")
	rec, _ := reg.Get("e2e-agent-1")
	assert.False(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonShutdown, rec.Reason)

	logs := p.LogText()
	assert.Contains(t, logs, `"msg":"connecting"`)
	assert.Contains(t, logs, `"msg":"registered"`)
	assert.Contains(t, logs, fmt.Sprintf(`"sid":%d`, first.SID))
	assert.Contains(t, logs, `"msg":"on-shutdown command finished"`)
	assert.Contains(t, logs, `"exit_status":0`)
	assert.NotContains(t, logs, agentTestPassword, "the password reached the logs")
}

func TestAgentBinarySIGTERMExitsZero(t *testing.T) {
	srv, reg := agentServer(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("\n"+agentTestPassword+"\r\nignored\n"), 0o600))
	// Flags and the password file come from the environment here.
	p := startAgent(t, []string{"CLISER_SERVER=" + srv.Addr(), "CLISER_ID=e2e-agent-2",
		"CLISER_PASSWORD_FILE=" + pwFile, "CLISER_PASSWORD=wrong", "CLISER_LOG_FORMAT=console"})
	require.Eventually(t, connectedRecord(reg, "e2e-agent-2"), 10*time.Second, 10*time.Millisecond, p.LogText())

	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
	require.Eventually(t, func() bool { return !connectedRecord(reg, "e2e-agent-2")() }, 5*time.Second, 10*time.Millisecond)
	rec, _ := reg.Get("e2e-agent-2")
	assert.Equal(t, protocol.ReasonClosedByClient, rec.Reason)
	assert.Contains(t, p.LogText(), "agent stopped by signal")
}

func TestAgentBinaryAuthFailedKeepsTryingAndSaysWhy(t *testing.T) {
	srv, _ := agentServer(t)
	p := startAgent(t, []string{"CLISER_PASSWORD=not-the-password"},
		"--server", srv.Addr(), "--id", "e2e-agent-3", "--backoff-min", "10ms", "--backoff-max", "2s")
	// "retrying" is the line after the rejection's: wait for both.
	require.Eventually(t, func() bool {
		logs := p.LogText()
		return strings.Contains(logs, "the server refused the password") && strings.Contains(logs, `"msg":"retrying"`)
	}, 10*time.Second, 10*time.Millisecond, "%s", p.LogText())
	logs := p.LogText()
	assert.Contains(t, logs, `"reason":"auth failed"`)
	// At the default log settings (JSON): one line that names what to
	// check and when the next try is, and no stack trace.
	assert.Regexp(t, `"msg":"the server refused the password \(190 auth failed\): check the password in CLISER_PASSWORD, `+
		`or this ID's own secret if it was given one \(cliser credentials\); next try in [12]s"`, logs)
	assert.Contains(t, logs, `"next_try_at":"`)
	assert.NotContains(t, logs, "stacktrace")
	assert.NotContains(t, logs, "not-the-password")
	p.RequireRunning(t, "agent gave up after auth failed")
	assert.Equal(t, 0, p.Stop(t, os.Interrupt), p.LogText())
}

// A server that goes silent after 140 (here: keep-alives an hour apart,
// as a frozen server would look) must not hold the agent: after
// --idle-timeout without a line it reconnects.
func TestAgentBinaryIdleTimeoutReconnectsToSilentServer(t *testing.T) {
	srv, reg := agentServer(t, reactor.WithKeepAlive(time.Hour, time.Second))
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword},
		"--server", srv.Addr(), "--id", "e2e-agent-idle", "--idle-timeout", "1s",
		"--backoff-min", "10ms", "--backoff-max", "50ms")
	require.Eventually(t, connectedRecord(reg, "e2e-agent-idle"), 10*time.Second, 10*time.Millisecond, p.LogText())
	first, _ := reg.Get("e2e-agent-idle")
	require.Eventually(t, func() bool {
		r, _ := reg.Get("e2e-agent-idle")
		return r.CStatus && r.ConnectedAt.After(first.ConnectedAt)
	}, 10*time.Second, 10*time.Millisecond, "%s", p.LogText())
	// The log reaches the test through a pipe and a copying goroutine,
	// which may trail the reconnect the registry already shows.
	require.Eventually(t, func() bool {
		return strings.Contains(p.LogText(), "no line from the server for 1s") &&
			strings.Contains(p.LogText(), "raise the idle timeout above it")
	}, 10*time.Second, 10*time.Millisecond, "the idle timeout is not said: %s", p.LogText())
	assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
}

func TestAgentBinaryFlagsWinOverEnvironment(t *testing.T) {
	srv, reg := agentServer(t)
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword, "CLISER_ID=bad id!", "CLISER_SERVER=127.0.0.1:1"},
		"--server", srv.Addr(), "--id", "e2e-agent-4")
	require.Eventually(t, connectedRecord(reg, "e2e-agent-4"), 10*time.Second, 10*time.Millisecond, p.LogText())
	assert.Equal(t, 0, p.Stop(t, nil))
}

func TestAgentBinaryConfigMistakesExitTwo(t *testing.T) {
	pwEmpty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(pwEmpty, []byte("\n\r\n"), 0o600))
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no password", nil, []string{"--server", "127.0.0.1:1", "--id", "a"}, "no password"},
		{"empty password file", nil, []string{"--server", "127.0.0.1:1", "--id", "a", "--password-file", pwEmpty}, "has no password"},
		{"no server", []string{"CLISER_PASSWORD=x"}, []string{"--id", "a"}, "--server"},
		{"no id", []string{"CLISER_PASSWORD=x"}, []string{"--server", "127.0.0.1:1"}, "--id"},
		{"bad id from env", []string{"CLISER_PASSWORD=x", "CLISER_ID=has space"}, []string{"--server", "127.0.0.1:1"}, "has space"},
		{"bad id", []string{"CLISER_PASSWORD=x"}, []string{"--server", "127.0.0.1:1", "--id", "bad/id"}, `--id "bad/id": an ID is 1 to 64 of`},
		{"bad env duration", []string{"CLISER_PASSWORD=x", "CLISER_ON_SHUTDOWN_TIMEOUT=soon"}, []string{"--server", "h:1", "--id", "a"}, "CLISER_ON_SHUTDOWN_TIMEOUT"},
		{"negative idle timeout", []string{"CLISER_PASSWORD=x"}, []string{"--server", "h:1", "--id", "a", "--idle-timeout", "-1s"}, "--idle-timeout must be 0 (off) or at least 1s"},
		{"zero dial timeout", []string{"CLISER_PASSWORD=x"}, []string{"--server", "h:1", "--id", "a", "--dial-timeout", "0s"}, "--dial-timeout and --handshake-timeout must be positive, got 0s and 10s"},
		{"zero hook timeout", []string{"CLISER_PASSWORD=x"}, []string{"--server", "h:1", "--id", "a", "--on-shutdown-timeout", "0s"}, "--on-shutdown-timeout must be positive, got 0s"},
		{"zero backoff min", []string{"CLISER_PASSWORD=x"}, []string{"--server", "h:1", "--id", "a", "--backoff-min", "0s"}, "--backoff-min must be at least 10ms"},
		{"1ns backoff", []string{"CLISER_PASSWORD=x"}, []string{"--server", "h:1", "--id", "a", "--backoff-min", "1ns", "--backoff-max", "1ns"}, "--backoff-min must be at least 10ms (every wait between attempts can be this short), got 1ns"},
		{"backoff max below min", []string{"CLISER_PASSWORD=x", "CLISER_BACKOFF_MAX=1s"}, []string{"--server", "h:1", "--id", "a", "--backoff-min", "2s"}, "--backoff-max (from CLISER_BACKOFF_MAX) 1s is below --backoff-min 2s"},
		{"bad log format", []string{"CLISER_PASSWORD=x"}, []string{"--server", "h:1", "--id", "a", "--log-format", "xml"}, "--log-format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, code := testkit.Run(t, testkit.Environ([]string{"CLISER_PASSWORD"}, c.env...), append([]string{"agent"}, c.args...)...)
			assert.Equal(t, 2, code, out)
			assert.Contains(t, out, c.want)
		})
	}
}

func TestAgentHookTimeoutKillsIt(t *testing.T) {
	srv, reg := agentServer(t)
	marker := filepath.Join(t.TempDir(), "after")
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword},
		"--server", srv.Addr(), "--id", "e2e-agent-5",
		"--on-shutdown", "sleep 30; touch "+marker, "--on-shutdown-timeout", "200ms")
	require.Eventually(t, connectedRecord(reg, "e2e-agent-5"), 10*time.Second, 10*time.Millisecond, p.LogText())
	conn, err := reg.Conn("e2e-agent-5")
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, conn.Shutdown(""))
	assert.Equal(t, 0, p.Wait(t), p.LogText())
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Contains(t, p.LogText(), "on-shutdown command timed out")
	assert.NoFileExists(t, marker)
}

func TestAgentPasswordFileMode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(file, []byte("s3cret\n"), 0o644))
	_, err := agentPassword(file)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "chmod 600")
	require.NoError(t, os.Chmod(file, 0o600))
	pw, err := agentPassword(file)
	require.NoError(t, err)
	assert.Equal(t, "s3cret", pw)

	// A directory is told so, not to chmod it first (agent audit).
	sub := filepath.Join(dir, "d")
	require.NoError(t, os.Mkdir(sub, 0o755))
	_, err = agentPassword(sub)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "--password-file "+sub+" is a directory: give the file that holds the secret")
}

// A blank password (a stray line of spaces first in the file, or a blank
// CLISER_PASSWORD) is a configuration mistake: cliser serve takes none, so
// the agent would only be refused at every connect. The message never
// quotes the file.
func TestAgentRefusesBlankPassword(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(" \t\ns3cret\n"), 0o600))
	_, err := agentPassword(file)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "only spaces or tabs")

	t.Setenv("CLISER_PASSWORD", "  ")
	_, err = agentPassword("")
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "CLISER_PASSWORD: a password of only spaces or tabs")

	// Set but empty (a template's unfilled variable) is said as such, not
	// as a password missing from the environment.
	t.Setenv("CLISER_PASSWORD", "")
	_, err = agentPassword("")
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "no password: CLISER_PASSWORD is set but empty")
}

// While the shutdown hook runs, a SIGHUP said "the session is up and
// stays" of a session that had ended, and a stop signal left no trace;
// the agent exits when the hook ends, and says so for each (agent audit).
func TestAgentSignalsWhileTheHookRunsAreSaid(t *testing.T) {
	srv, reg := agentServer(t)
	p := startAgent(t, []string{"CLISER_PASSWORD=" + agentTestPassword},
		"--server", srv.Addr(), "--id", "e2e-agent-6", "--on-shutdown", "sleep 2")
	require.Eventually(t, connectedRecord(reg, "e2e-agent-6"), 10*time.Second, 10*time.Millisecond, p.LogText())
	conn, err := reg.Conn("e2e-agent-6")
	require.NoError(t, err)
	require.NoError(t, conn.Shutdown(""))
	p.WaitLog(t, 10*time.Second, "running the on-shutdown command")
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
	p.WaitLog(t, 10*time.Second, "SIGHUP: the agent runs its on-shutdown command and exits after it")
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	p.WaitLog(t, 10*time.Second, "stop signal: the agent exits once its on-shutdown command ends")
	assert.Equal(t, 0, p.Wait(t), p.LogText())
	assert.Equal(t, 1, strings.Count(p.LogText(), "stop signal: the agent exits"), "said once, not at each turn of its wait")
	assert.Contains(t, p.LogText(), "on-shutdown command finished", "the hook ran to its end")
	assert.NotContains(t, p.LogText(), "the session is up and stays")
}

// An --idle-timeout below a second is refused at start, 0 (off) and 1s
// taken. Taken, 1ms closed each session as it registered: the agent
// redialled without end, the server saw it come and go.
func TestAgentBinaryRefusesAnIdleTimeoutBelowASecond(t *testing.T) {
	srv, reg := agentServer(t)
	env := []string{"CLISER_PASSWORD=" + agentTestPassword}
	for _, d := range []string{"1ms", "999ms"} {
		p := startAgent(t, env, "--server", srv.Addr(), "--id", "idle-short", "--idle-timeout", d, "--backoff-min", "10ms", "--backoff-max", "10ms")
		select {
		case <-p.Exited:
		case <-time.After(waitFor):
			t.Fatalf("--idle-timeout %s was taken:\n%s", d, p.LogText())
		}
		assert.Equal(t, 2, testkit.ExitCode(p.ExitErr), p.LogText())
		assert.Contains(t, p.LogText(), "--idle-timeout must be 0 (off) or at least 1s, and well above the server's --keepalive-interval "+
			"(a session silent this long is closed and redialled), got "+d)
	}
	_, ok := reg.Get("idle-short")
	assert.False(t, ok, "an agent refused at start connected")
	for _, d := range []string{"0", "1s"} {
		id := "idle-" + d
		p := startAgent(t, env, "--server", srv.Addr(), "--id", id, "--idle-timeout", d)
		require.Eventually(t, connectedRecord(reg, id), waitFor, tick, "--idle-timeout %s: %s", d, p.LogText())
		assert.Equal(t, 0, p.Stop(t, nil), p.LogText())
	}
}
