package reactor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

const testPassword = "s3cret"

// testServer is a real server on 127.0.0.1:0 with its registry.
type testServer struct {
	*Server
	reg *registry.Registry
}

func startServer(t *testing.T, opts ...Option) *testServer {
	t.Helper()
	return startServerWithRegistry(t, registry.New(), opts...)
}

func startServerWithRegistry(t *testing.T, reg *registry.Registry, opts ...Option) *testServer {
	t.Helper()
	base := []Option{
		WithAddr("127.0.0.1:0"),
		WithPasswords([][]byte{[]byte(testPassword)}),
		WithLoops(2),
		WithLogger(zaptest.NewLogger(t)),
	}
	srv, err := New(reg, append(base, opts...)...)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	})
	return &testServer{Server: srv, reg: reg}
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, msg)
}

func closeLine(r protocol.Reason) string { return "190 " + r.String() }
