package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/testnode"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const testPassword = "adm1n-test-pw"

// stack is a real server: registry, reactor on 127.0.0.1:0 with the
// metrics observer, and the admin API on its own 127.0.0.1:0 listener.
type stack struct {
	reg     *registry.Registry
	srv     *reactor.Server
	metrics *admin.Metrics
	api     *admin.API
	admin   *admin.Server // newStartingStack only
	base    string        // http://host:port of the admin listener
	token   string
}

type stackConfig struct {
	token        string
	reactorOpts  []reactor.Option
	registryOpts []registry.Option
	noStart      bool // leave the reactor unstarted (a "starting" server): newStartingStack
	apiOpts      []admin.Option
}

// newStack starts a whole node (package node) with the admin API on,
// records in memory.
func newStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	if cfg.noStart {
		return newStartingStack(t, cfg)
	}
	n := testnode.Start(t, node.WithReactorOptions(append(stackReactorOptions(), cfg.reactorOpts...)...),
		node.WithRegistryOptions(cfg.registryOpts...), node.WithAdminToken(cfg.token),
		node.WithAdminOptions(cfg.apiOpts...))
	return &stack{reg: n.Registry(), srv: n.Reactor(), metrics: n.Metrics(), api: n.API(),
		base: "http://" + n.AdminAddr(), token: cfg.token}
}

func stackReactorOptions() []reactor.Option {
	return []reactor.Option{
		reactor.WithPasswords([][]byte{[]byte(testPassword)}),
		reactor.WithLoops(2),
		reactor.WithKeepAlive(time.Hour, 5*time.Second),
	}
}

// newStartingStack is a stack whose reactor is made but not started: a
// server that is starting, which a node never shows for long enough to
// test. The test starts and stops it itself.
func newStartingStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	log := zaptest.NewLogger(t)
	reg := registry.New(cfg.registryOpts...)
	m := admin.NewMetrics(reg)
	opts := append(stackReactorOptions(), reactor.WithAddr("127.0.0.1:0"), reactor.WithLogger(log), reactor.WithObserver(m))
	srv, err := reactor.New(reg, append(opts, cfg.reactorOpts...)...)
	require.NoError(t, err)
	apiOpts := []admin.Option{admin.WithReady(srv.Ready), admin.WithMetrics(m), admin.WithBroadcast(srv.ShutdownAll),
		admin.WithToken(cfg.token), admin.WithLogger(log)}
	api := admin.New(reg, append(apiOpts, cfg.apiOpts...)...)
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
		require.NoError(t, hs.Shutdown(ctx))
	})
	return &stack{reg: reg, srv: srv, metrics: m, api: api, admin: hs, base: "http://" + hs.Addr(), token: cfg.token}
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	require.Equal(t, "application/json", r.header.Get("Content-Type"), "body: %s", r.body)
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// errorText checks the body is exactly {"error": "..."} and returns the text.
func (r reply) errorText(t *testing.T) string {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	require.Len(t, m, 1, "an error body has one field: %s", r.body)
	msg, ok := m["error"].(string)
	require.True(t, ok, "error is a string: %s", r.body)
	require.NotEmpty(t, msg)
	return msg
}

// call sends a request with the stack's token (when it has one).
func (s *stack) call(t *testing.T, method, path, body string) reply {
	t.Helper()
	return s.callToken(t, method, path, body, s.token)
}

func (s *stack) callToken(t *testing.T, method, path, body, token string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" { // as any client of a JSON API does (guard.go)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// connect dials and registers id.
func (s *stack) connect(t testing.TB, id string) *testkit.RawClient {
	t.Helper()
	c := testkit.Dial(t, s.srv.Addr())
	c.Register(testPassword, id)
	return c
}

// leave closes the client's side and waits until the registry has it
// disconnected.
func (s *stack) leave(t *testing.T, c *testkit.RawClient, cid string) {
	t.Helper()
	_ = c.Conn.Close()
	eventually(t, func() bool { r, ok := s.reg.Get(cid); return ok && !r.CStatus }, cid+" disconnected")
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, msg)
}

func closeLine(r protocol.Reason) string { return "190 " + r.String() }
