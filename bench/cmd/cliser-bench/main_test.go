package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/benchtest"
)

// A server that speaks no protocol makes `cliser-bench run` fail (exit 1),
// naming the error kind.
func TestRunFailsAgainstAServerThatAnswersGarbage(t *testing.T) {
	addr := benchtest.Listener(t, func(c net.Conn) {
		_, _ = c.Write([]byte("220 smtp.example.com ESMTP\r\n" + "garbage\n"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := runOne(ctx, []string{"--addr", addr, "--stages", "5", "--in-process-load",
		"--settle", "0s", "--hold", "0s", "--probe-hold", "0s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "5 × unexpected line from server")
}
