package node_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
)

// adminGet is GET url with Host host: its status, Content-Type and body.
func adminGet(t *testing.T, url, host string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// WithAdminOptions come after the node's own, so they win: a token given
// there guards the API although the node's own WithTokens wants none.
func TestAdminOptionsComeAfterTheNodesOwn(t *testing.T) {
	n := nodetest.Start(t, node.WithAdminOptions(admin.WithTokens(admin.NewTokens("opts-token"))))
	code, _, body := adminGet(t, "http://"+n.AdminAddr()+"/v1/clients", n.AdminAddr())
	assert.Equal(t, http.StatusUnauthorized, code, body)
}

// While a cluster node waits for NATS, its admin address answers with
// the API's options and the dashboard: a host --admin-allowed-hosts names
// passes the Host guard (it was refused until the API took over), and
// /ui/ is the page that says why the node waits, not a bare 503.
func TestStandbyHasTheAdminOptionsAndTheDashboard(t *testing.T) {
	adminAddr := testkit.FreeAddr(t)
	n := nodetest.New(t, node.WithCluster("nats://"+testkit.FreeAddr(t), "n1"), node.WithAdmin(adminAddr),
		node.WithUI(true), node.WithAdminOptions(admin.WithAllowedHosts("cliser.example")))
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() { started <- n.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-started
	})
	base := "http://" + adminAddr
	waitStandby(t, adminAddr) // the standby, once it knows why it waits

	code, _, body := adminGet(t, base+"/v1/health", "cliser.example")
	assert.Equal(t, http.StatusOK, code, "an allowed host: %s", body)
	code, _, _ = adminGet(t, base+"/v1/health", "other.example")
	assert.Equal(t, http.StatusForbidden, code, "a host not allowed")

	code, ctype, body := adminGet(t, base+"/ui/", adminAddr)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.True(t, strings.HasPrefix(ctype, "text/html"), "the dashboard's standby page: %s %s", ctype, body)
	assert.Contains(t, body, "waiting for NATS")
}
