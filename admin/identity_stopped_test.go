package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// A credential or ban write while the identity service is stopped (the
// server draining) is a 503, try again; its words said the server was
// "not accepting clients", about clients a credential write has nothing
// to do with (durability audit).
func TestIdentityWritesOfAStoppedServiceSayWhy(t *testing.T) {
	st, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	ids := identity.New(identity.WithStore(st))
	require.NoError(t, ids.Start(context.Background()))
	hs, err := admin.New(registry.New(), admin.WithIdentity(ids)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) })
	base := "http://" + hs.Addr()
	require.NoError(t, ids.Close()) // as a drain does

	for _, req := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/credentials/dev-1", ""},
		{http.MethodPost, "/v1/bans", `{"kind": "cid", "value": "dev-2"}`},
	} {
		code, body := testkit.HTTPDo(t, req.method, base+req.path, req.body, nil)
		assert.Equal(t, http.StatusServiceUnavailable, code, req.path)
		assert.Contains(t, body, "credentials and bans take no writes while the server is starting or stopping", req.path)
		assert.NotContains(t, body, "accepting clients", req.path)
	}
}
