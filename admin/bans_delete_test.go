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
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// IDENTITY.md: DELETE /v1/bans/{kind}/{value} is 204 or 404. A value no
// ban of its kind can hold is no ban: 404 saying why, as DELETE
// /v1/credentials/{cid} of a bad ID is (it was a 400: identity audit). A
// kind that does not exist stays a 400.
func TestDeleteBanOfAValueNoBanHoldsIs404(t *testing.T) {
	ids := identity.New()
	require.NoError(t, ids.Start(context.Background()))
	t.Cleanup(func() { _ = ids.Close() })
	hs, err := admin.New(registry.New(), admin.WithIdentity(ids)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) })
	base := "http://" + hs.Addr()

	for path, want := range map[string]string{
		"/v1/bans/cid/a%20b":     "no ban cid a b: ",
		"/v1/bans/ip/1.2.3":      "no ban ip 1.2.3: ",
		"/v1/bans/net/10.0.0.0":  "no ban net 10.0.0.0: ",
		"/v1/bans/ip/192.0.2.77": "no ban ip 192.0.2.77",
	} {
		code, body := testkit.HTTPDo(t, http.MethodDelete, base+path, "", nil)
		assert.Equal(t, http.StatusNotFound, code, path)
		assert.Contains(t, body, want, path)
	}
	code, body := testkit.HTTPDo(t, http.MethodDelete, base+"/v1/bans/host/x", "", nil)
	assert.Equal(t, http.StatusBadRequest, code, body)
}
