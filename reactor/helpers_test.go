package reactor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/internal/testkit"
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
	testkit.StopAtEnd(t, srv.Stop)
	return &testServer{Server: srv, reg: reg}
}

// dial connects a raw protocol client to the server; it is closed when the
// test ends.
func (s *testServer) dial(t testing.TB) *testkit.RawClient {
	t.Helper()
	return testkit.Dial(t, s.Addr())
}

// dialFrom connects from the loopback source address ip (127.x.y.z).
func (s *testServer) dialFrom(t testing.TB, ip string) *testkit.RawClient {
	t.Helper()
	return testkit.DialFrom(t, s.Addr(), ip)
}

// connect dials and completes the handshake as id.
func (s *testServer) connect(t testing.TB, id string) *testkit.RawClient {
	t.Helper()
	c := s.dial(t)
	c.Handshake(testPassword, id)
	return c
}

// handle is the registry's handle on id's connection, for a test that
// commands it as the admin API would.
func (s *testServer) handle(t testing.TB, id string) registry.Conn {
	t.Helper()
	conn, err := s.reg.Conn(id)
	require.NoError(t, err)
	return conn
}

// waitDisconnected waits until id's record says it left for reason.
func (s *testServer) waitDisconnected(t testing.TB, id string, reason protocol.Reason) {
	t.Helper()
	eventually(t, func() bool {
		r, _ := s.reg.Get(id)
		return !r.CStatus && r.Reason == reason
	}, id+" disconnected: "+reason.String())
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, msg)
}

func closeLine(r protocol.Reason) string { return "190 " + r.String() }
