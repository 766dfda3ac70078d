package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// Two `cliser serve --cluster` processes share fleet identity through
// JetStream: a credential created through one's admin API admits on the
// other, and deleting it through the first revokes the session there.
func TestBinaryClusterSharesIdentity(t *testing.T) {
	ns := testkit.NATS(t)

	common := []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--keepalive-interval", "1h",
		"--cluster", ns.ClientURL()}
	env := []string{"CLISER_PASSWORD=cl-id-shared", "CLISER_ADMIN_TOKEN="}
	alpha := testkit.Serve(t, env, append(common, "--node-id", "id-alpha", "--data-dir", t.TempDir())...)
	beta := testkit.Serve(t, env, append(common, "--node-id", "id-beta", "--data-dir", t.TempDir())...)
	ctx := context.Background()
	alphaAPI, err := admin.NewClient("http://"+alpha.AdminAddr, "", 5*time.Second)
	require.NoError(t, err)
	betaAPI, err := admin.NewClient("http://"+beta.AdminAddr, "", 5*time.Second)
	require.NoError(t, err)

	cred, err := alphaAPI.CreateCredential(ctx, "cl-id-dev", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := betaAPI.GetCredential(ctx, "cl-id-dev")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "beta does not know alpha's credential")

	lines := func(password string) (*bufio.Reader, net.Conn, string) {
		conn, err := net.Dial("tcp", beta.Addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		_, err = conn.Write([]byte("110 " + password + "\n120 cl-id-dev\n"))
		require.NoError(t, err)
		r := bufio.NewReader(conn)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		for {
			line, err := r.ReadString('\n')
			require.NoError(t, err)
			if line != "110 password\n" && line != "120 id\n" {
				return r, conn, strings.TrimSuffix(line, "\n")
			}
		}
	}
	_, _, line := lines("cl-id-shared")
	assert.Equal(t, "190 auth failed", line, "the shared password admitted an enrolled ID")
	r, conn, line := lines(cred.Secret)
	require.True(t, strings.HasPrefix(line, "140 connected "), line)

	began := time.Now()
	require.NoError(t, alphaAPI.DeleteCredential(ctx, "cl-id-dev"))
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "190 revoked\n", line)
	assert.Less(t, time.Since(began), 2*time.Second)

	for _, p := range []*testkit.Served{alpha, beta} {
		require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 0, p.Wait(t), p.LogText())
		assert.NotContains(t, p.LogText(), cred.Secret, "a secret reached the logs")
	}
}
