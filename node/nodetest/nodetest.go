// Package nodetest starts a whole cliser node (package node) inside a test:
// the protocol and the admin API on 127.0.0.1:0, logs to the test, and a
// graceful stop at cleanup. It is testkit's in-process half, kept beside
// the package it starts (as registry/registrytest is): testkit is imported
// by the tests of packages the node itself imports.
package nodetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/reactor"
)

// Password is the one password a test node accepts unless opts give others.
const Password = "testnode-pw"

// StopTimeout bounds a test node's graceful stop at cleanup.
const StopTimeout = 10 * time.Second

// Start starts a node on 127.0.0.1:0 (protocol and admin API), accepting
// Password, logging to t; opts come after these defaults and override them.
// The node drains at t's cleanup unless the test stopped it.
func Start(t testing.TB, opts ...node.Option) *node.Node {
	t.Helper()
	n := New(t, opts...)
	require.NoError(t, n.Start(context.Background()))
	return n
}

// New is Start without the start: for a test that starts (or fails to
// start) the node itself. Cleanup still shuts it down.
func New(t testing.TB, opts ...node.Option) *node.Node {
	t.Helper()
	base := []node.Option{
		node.WithLogger(zaptest.NewLogger(t)),
		node.WithListen("127.0.0.1:0"),
		node.WithAdmin("127.0.0.1:0"),
		node.WithReactorOptions(reactor.WithPasswords([][]byte{[]byte(Password)})),
	}
	n := node.New(append(base, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n
}
