package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server that speaks no protocol makes `cliser-bench run` fail (exit 1),
// naming the error kind.
func TestRunFailsAgainstAServerThatAnswersGarbage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("220 smtp.example.com ESMTP\r\n" + "garbage\n"))
			_ = c.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = runOne(ctx, []string{"--addr", ln.Addr().String(), "--stages", "5", "--in-process-load",
		"--settle", "0s", "--hold", "0s", "--probe-hold", "0s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "5 × unexpected line from server")
}
