package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// Answers that pointed the wrong way or said too much (admin audit): a
// 50,000-byte client ID came back whole in its 404; a prefix no client ID
// can start with answered an empty list where the CLI refuses it; an
// Authorization header of another scheme was "missing"; the event log's
// absence did not name the setting.
func TestAnswersSayWhatIsWrongInFew(t *testing.T) {
	base := "http://" + listen(t, admin.New(registry.New()))
	long := strings.Repeat("x", 500) + " "
	for _, path := range []string{"/v1/clients/" + long, "/v1/clients/" + long + "/kick"} {
		method := http.MethodGet
		if strings.HasSuffix(path, "/kick") {
			method = http.MethodPost
		}
		code, body := testkit.HTTPDo(t, method, base+strings.ReplaceAll(path, " ", "%20"), "", nil)
		assert.Equal(t, http.StatusNotFound, code, path)
		assert.Contains(t, body, strings.Repeat("x", 80)+"…\\\": not a valid client id", path)
		assert.Less(t, len(body), 300, path)
	}
	for prefix, want := range map[string]int{"a%20b": 400, "pos-0%2A": 400, "%FF": 400, "pos-": 200, "": 200} {
		code, body := testkit.HTTPDo(t, http.MethodGet, base+"/v1/clients?prefix="+prefix, "", nil)
		assert.Equal(t, want, code, "%s: %s", prefix, body)
		if want == 400 {
			assert.Contains(t, body, "has a byte no client ID has", prefix)
		}
	}
	code, body := testkit.HTTPDo(t, http.MethodGet, base+"/v1/events", "", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "this server keeps no event log (--event-retention 0)")

	tokened := "http://" + listen(t, admin.New(registry.New(), admin.WithToken("tok123")))
	for header, want := range map[string]string{
		"":                 "missing bearer token: send Authorization: Bearer <token>",
		"Basic dG9rMTIz":   `the Authorization header is not \"Bearer <token>\": send Authorization: Bearer <token>`,
		"tok123":           `the Authorization header is not \"Bearer <token>\"`,
		"Token tok123":     `the Authorization header is not \"Bearer <token>\"`,
		"Bearer not-right": "wrong bearer token: send the server's CLISER_ADMIN_TOKEN, or a line of its --admin-token-file as it reads now (a reload drops the lines taken out); 10 wrong tokens from one address within 1m0s make it wait (429)",
	} {
		h := http.Header{}
		if header != "" {
			h.Set("Authorization", header)
		}
		code, body := testkit.HTTPDo(t, http.MethodGet, tokened+"/v1/clients", "", h)
		assert.Equal(t, http.StatusUnauthorized, code, header)
		assert.Contains(t, body, want, header)
		assert.NotContains(t, body, "dG9yMTIz", header)
		assert.NotContains(t, body, "tok123", header)
	}
}

// A value well written but out of range is told its range, not that it is
// not a value of its kind (admin audit).
func TestOutOfRangeValuesAreToldTheirRange(t *testing.T) {
	ids := identity.New()
	require.NoError(t, ids.Start(context.Background()))
	t.Cleanup(func() { _ = ids.Close() })
	base := "http://" + listen(t, admin.New(registry.New(), admin.WithIdentity(ids)))
	code, body := testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/g-1", `{"grace": "3000000h"}`,
		http.Header{"Content-Type": {"application/json"}})
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, body, `grace \"3000000h\": want a duration like 24h, at most 2562047h, or none`)
	code, body = testkit.HTTPGet(t, base+"/v1/events?after=18446744073709551616")
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, body, "a whole number from 0 to 18446744073709551615")
}
