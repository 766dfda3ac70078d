package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const ioTimeout = 5 * time.Second

// The harness contract: the first stdout line names the real address; the
// flags reach the server; a cancelled context (the signal) stops it with
// "190 server shutting down" and a nil error.
func TestRunPrintsAddressServesAndStops(t *testing.T) {
	t.Setenv("CLISER_PASSWORD", "bench-pw")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--keepalive-interval", "50ms",
			"--keepalive-timeout", "1s", "--handshake-timeout", "2s", "--max-clients", "10"}, stdout)
	}()

	first, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	addr, ok := strings.CutPrefix(strings.TrimSuffix(first, "\n"), "listening on ")
	require.True(t, ok, "first line %q", first)
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	require.NotEqual(t, "0", port, "the real port, not the configured 0")

	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.SetDeadline(time.Now().Add(ioTimeout)))
	br := bufio.NewReader(nc)
	_, err = io.WriteString(nc, "110 bench-pw\n120 bench-1\n")
	require.NoError(t, err)
	for _, want := range []string{"110 password", "120 id", "140 connected 1", "100 1"} {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, want+"\n", line)
	}

	cancel()
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "190 server shutting down\n", line)
	_ = nc.Close()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestRunRefusesWithoutPassword(t *testing.T) {
	t.Setenv("CLISER_PASSWORD", "")
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0"}, io.Discard)
	require.ErrorContains(t, err, "CLISER_PASSWORD")
}

func TestRunRejectsUnknownFlag(t *testing.T) {
	t.Setenv("CLISER_PASSWORD", "x")
	err := run(context.Background(), []string{"--password", "x"}, io.Discard)
	require.Error(t, err)
}
