package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

func TestBinaryServesHandshakeAndDrainsOnSIGTERM(t *testing.T) {
	dataDir := t.TempDir()
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=bin-secret"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dataDir, "--keepalive-interval", "1h")

	conn, err := net.Dial("tcp", p.Addr)
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	_, err = conn.Write([]byte("110 bin-secret\n120 bin-client-1\n"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	for _, want := range []string{"110 password\n", "120 id\n"} {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, want, line)
	}
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "140 connected "), line)

	p.Terminate(t)
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "190 server shutting down\n", line)
	assert.Equal(t, 0, p.Wait(t), p.LogText())

	logs := p.LogText()
	assert.Contains(t, logs, `"msg":"client registered"`)
	assert.Contains(t, logs, `"cid":"bin-client-1"`)
	assert.Contains(t, logs, `"reason":"server shutting down"`)
	assert.NotContains(t, logs, "bin-secret", "a password reached the logs")
}

func TestBinaryRefusesToStartWithoutPassword(t *testing.T) {
	cmd := exec.Command(testkit.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	cmd.Env = withoutEnv(os.Environ(), "CLISER_PASSWORD")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "no password configured")
	assert.Contains(t, string(out), "CLISER_PASSWORD")
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(testkit.Binary(t), "version").CombinedOutput()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "cliser "), string(out))
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
