package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The harness contract: the first line names the address, a trigger sends
// 130 to every registered client and reports how many, and the server
// still stops when its context ends.
func TestTriggerBroadcastsShutdown(t *testing.T) {
	t.Setenv("CLISER_PASSWORD", "pw")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	trigger := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--keepalive-interval", "1h"}, pw, trigger)
		_ = pw.Close()
	}()
	out := bufio.NewReader(pr)
	first, err := out.ReadString('\n')
	require.NoError(t, err)
	addr, ok := strings.CutPrefix(strings.TrimSpace(first), "listening on ")
	require.True(t, ok, first)

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)
	_, err = c.Write([]byte("110 pw\n120 dev-1\n"))
	require.NoError(t, err)
	for _, want := range []string{"110 password\n", "120 id\n"} {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, want, line)
	}
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "140 connected "), line)

	trigger <- os.Interrupt
	sent, err := out.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "shutdown sent 1\n", sent)
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "130 shutdown "+ShutdownText+"\n", line)
	_, err = c.Write([]byte("130 ok\n"))
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = r.ReadString('\n')
	assert.ErrorIs(t, err, io.EOF, "the server closes after 130 ok")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}
