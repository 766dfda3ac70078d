package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/reactor"
)

const opsPassword = "ops-s3cret"

// Polling bounds for require.Eventually.
const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

// opsServer is a real node in this process (package node through nodetest):
// protocol and admin API, each on 127.0.0.1:0. The CLI tests run against it.
type opsServer struct {
	*node.Node
	admin string // http://host:port
}

func startOpsServer(t *testing.T, token string) *opsServer {
	t.Helper()
	n := nodetest.Start(t, node.WithAdminToken(token), node.WithReactorOptions(
		reactor.WithPasswords([][]byte{[]byte(opsPassword)}), reactor.WithLoops(2),
		reactor.WithKeepAlive(time.Hour, 5*time.Second)))
	return &opsServer{Node: n, admin: "http://" + n.AdminAddr()}
}

// opsConnect dials addr and registers cid with password.
func opsConnect(t testing.TB, addr, password, cid string) *testkit.RawClient {
	t.Helper()
	c := testkit.Dial(t, addr)
	c.Timeout = 10 * time.Second
	c.Register(password, cid)
	return c
}

// runCLI runs the cliser root command in this process with args and
// returns what it printed and its error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), "output: %s", s)
	return v
}
