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
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
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
	clients map[string]*testkit.RawClient // by id, as connect registered them
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
	n := nodetest.Start(t, node.WithReactorOptions(append(stackReactorOptions(), cfg.reactorOpts...)...),
		node.WithRegistryOptions(cfg.registryOpts...), node.WithAdminToken(cfg.token),
		node.WithAdminOptions(cfg.apiOpts...))
	return &stack{reg: n.Registry(), srv: n.Reactor(), metrics: n.Metrics(), api: n.API(),
		base: "http://" + n.AdminAddr(), token: cfg.token, clients: map[string]*testkit.RawClient{}}
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
	return &stack{reg: reg, srv: srv, metrics: m, api: api, admin: hs, base: "http://" + hs.Addr(), token: cfg.token,
		clients: map[string]*testkit.RawClient{}}
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

// callToken sends a request with token and, with a body, the JSON content
// type, as any client of a JSON API does (guard.go).
func (s *stack) callToken(t *testing.T, method, path, body, token string) reply {
	t.Helper()
	rq := request{method: method, path: path, body: body, token: token}
	if body != "" {
		rq.header = map[string]string{"Content-Type": "application/json"}
	}
	return s.send(t, rq)
}

// request is one hand-made HTTP request to an admin listener.
type request struct {
	method, path, body string
	token              string // sent as a bearer token when not ""
	host               string // Host header; "" keeps the listener's address
	header             map[string]string
	client             *http.Client // nil: http.DefaultClient
}

func (s *stack) send(t *testing.T, rq request) reply {
	t.Helper()
	return send(t, s.base, rq)
}

// send makes rq to the listener at base (http://host:port) and reads the
// answer whole.
func send(t *testing.T, base string, rq request) reply {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	method := rq.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+rq.path, body)
	require.NoError(t, err)
	if rq.host != "" {
		req.Host = rq.host
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	c := rq.client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// listen serves api on 127.0.0.1:0 until the test ends and returns the
// listener's host:port.
func listen(t *testing.T, api *admin.API) string {
	t.Helper()
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(t.Context()) })
	return hs.Addr()
}

// connect dials and registers id. Not goroutine-safe: the test's own
// goroutine connects.
func (s *stack) connect(t testing.TB, id string) *testkit.RawClient {
	t.Helper()
	c := testkit.Dial(t, s.srv.Addr())
	c.Register(testPassword, id)
	s.clients[id] = c
	return c
}

// leave closes the side of the client connect registered as cid and waits
// until the registry has it disconnected.
func (s *stack) leave(t *testing.T, cid string) {
	t.Helper()
	c, ok := s.clients[cid]
	require.True(t, ok, "no client %q connected by this test", cid)
	_ = c.Conn.Close()
	eventually(t, func() bool { r, ok := s.reg.Get(cid); return ok && !r.CStatus }, cid+" disconnected")
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, msg)
}
