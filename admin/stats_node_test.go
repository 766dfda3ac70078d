package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/registry"
)

// GET /v1/stats names the node it was asked (docs/operations.md: "with
// `node` set to its name"), and a single node without a name gives none.
// Found by mutation: the name could be dropped and no test failed.
func TestStatsNameTheirNode(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{"named": "n1", "unnamed": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base := "http://" + listen(t, admin.New(registry.New(registry.WithNode(want))))
			r := send(t, base, request{path: "/v1/stats"})
			require.Equal(t, http.StatusOK, r.status)
			var body map[string]any
			r.decode(t, &body)
			if want == "" {
				assert.NotContains(t, body, "node")
				return
			}
			assert.Equal(t, want, body["node"])
		})
	}
}

// GET /v1/stats says the spans docs/operations.md gives (a sample every
// 5 s, disconnects and RTT over 300 s), and the series' t is Unix
// seconds. Found by mutation: other spans and milliseconds passed.
func TestStatsSayTheirSpans(t *testing.T) {
	t.Parallel()
	before := time.Now().Unix()
	base := "http://" + listen(t, admin.New(registry.New()))
	var st admin.StatsResponse
	r := send(t, base, request{path: "/v1/stats"})
	require.Equal(t, http.StatusOK, r.status)
	r.decode(t, &st)
	assert.Equal(t, 5.0, st.IntervalSeconds)
	assert.Equal(t, 300.0, st.WindowSeconds)
	require.NotEmpty(t, st.Series, "the first sample is taken at the start")
	assert.GreaterOrEqual(t, st.Series[0].Time, before)
	assert.LessOrEqual(t, st.Series[0].Time, time.Now().Unix())
}
