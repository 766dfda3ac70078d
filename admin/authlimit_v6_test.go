package admin_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// v6API is an API with token "tok", a wrong-token bucket of burst per
// minute and opts, served on a real listener at addr.
type v6API struct {
	base    string
	metrics *admin.Metrics
	logs    *observer.ObservedLogs
	hs      *admin.Server
}

func newV6API(t *testing.T, addr string, burst int, opts ...admin.Option) *v6API {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	reg := registry.New()
	m := admin.NewMetrics(reg)
	api := admin.New(reg, append([]admin.Option{admin.WithToken("tok"), admin.WithMetrics(m),
		admin.WithLogger(zap.New(core)), admin.WithAuthFailLimit(burst, time.Minute)}, opts...)...)
	hs, err := api.Listen(addr)
	if err != nil {
		t.Skipf("no IPv6 listener at %s here: %v", addr, err)
	}
	t.Cleanup(func() { _ = hs.Shutdown(context.Background()) })
	return &v6API{base: "http://" + hs.Addr(), metrics: m, logs: logs, hs: hs}
}

// throttledLine closes the listener, which logs what the limiter has not
// told yet, and returns the limiter's line that tells of the 429s.
func (v *v6API) throttledLine(t *testing.T) map[string]any {
	t.Helper()
	require.NoError(t, v.hs.Shutdown(t.Context()))
	for _, l := range v.logs.FilterMessageSnippet("missing or wrong token").All() {
		if f := l.ContextMap(); f["throttled"] != int64(0) {
			return f
		}
	}
	t.Fatalf("no line tells of the 429: %v", v.logs.All())
	return nil
}

// guess sends a wrong token from client and wants the 401.
func guess(t *testing.T, base string, client *http.Client, why string) {
	t.Helper()
	r := send(t, base, request{path: "/v1/clients", token: "wrong", client: client})
	require.Equal(t, http.StatusUnauthorized, r.status, "%s: %s", why, r.body)
}

// The wrong-token limit counts an IPv6 client by its /64, as the protocol
// side's limits do: a host that takes a fresh address of its block for
// each guess gets no fresh bucket; another /64 is not slowed; at /128
// each address counts alone. Real sources of one /64 need addresses of
// their own: the test runs in a private network namespace whose loopback
// holds them (testkit.InNetns), and is skipped where none can be made
// (TestAdminIPv6LoopbackCountsByNetwork covers ::1 everywhere).
func TestAdminCountsIPv6ClientsByTheirNetwork(t *testing.T) {
	t.Parallel()
	if !testkit.InNetns(t, "2001:db8:9::1/64", "2001:db8:1:2::a/64", "2001:db8:1:2:ffff::b/64",
		"2001:db8:1:2::c/64", "2001:db8:1:3::a/64") {
		return
	}
	a, b, c := clientFrom("2001:db8:1:2::a"), clientFrom("2001:db8:1:2:ffff::b"), clientFrom("2001:db8:1:2::c")
	other := clientFrom("2001:db8:1:3::a")

	v := newV6API(t, "[2001:db8:9::1]:0", 2) // the default prefix: 64
	base := v.base
	guess(t, base, a, "::a's first guess")
	guess(t, base, b, "a second address of the /64, its first guess")
	r := send(t, base, request{path: "/v1/clients", token: "tok", client: c})
	require.Equal(t, http.StatusTooManyRequests, r.status, "a third address of the /64 shares its bucket: %s", r.body)
	assert.Contains(t, r.errorText(t), "2001:db8:1:2::/64", "the 429 names the network slowed")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err)
	assert.True(t, secs >= 1 && secs <= 30, "Retry-After %d: one refill (30s) away at most", secs)
	r = send(t, base, request{path: "/v1/clients", token: "tok", client: other})
	assert.Equal(t, http.StatusOK, r.status, "another /64 is not slowed: %s", r.body)
	assert.Equal(t, 1.0, metricValue(t, v.metrics, admin.MetricAdminAuthThrottled))
	line := v.throttledLine(t)
	assert.Equal(t, "2001:db8:1:2::/64", line["limited"], "the line names the network slowed: %v", line)

	base = newV6API(t, "[2001:db8:9::1]:0", 2, admin.WithIPv6GuardPrefix(128)).base
	guess(t, base, a, "at /128, ::a's first guess")
	guess(t, base, a, "at /128, ::a's second guess")
	r = send(t, base, request{path: "/v1/clients", token: "tok", client: a})
	require.Equal(t, http.StatusTooManyRequests, r.status, "::a's own bucket is empty: %s", r.body)
	assert.Contains(t, r.errorText(t), "from this address;", "at /128 no network is named")
	for _, cl := range []*http.Client{b, c} {
		r = send(t, base, request{path: "/v1/clients", token: "tok", client: cl})
		assert.Equal(t, http.StatusOK, r.status, "at /128 another address of the /64 is not slowed: %s", r.body)
	}
}

// Over the one IPv6 address every machine has: with the prefix set, ::1
// counts as ::/64 on a real listener, and the 429 and the log line say
// so; at 128 as itself.
func TestAdminIPv6LoopbackCountsByNetwork(t *testing.T) {
	t.Parallel()
	v := newV6API(t, "[::1]:0", 1, admin.WithIPv6GuardPrefix(64))
	guess(t, v.base, http.DefaultClient, "the first guess")
	r := send(t, v.base, request{path: "/v1/clients", token: "tok"})
	require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)
	assert.Equal(t, "too many wrong admin tokens from this address's network ::/64; try again in "+
		r.header.Get("Retry-After")+"s", r.errorText(t))
	assert.Equal(t, 1.0, metricValue(t, v.metrics, admin.MetricAdminAuthThrottled))
	line := v.throttledLine(t)
	assert.Equal(t, "::1", line["last_ip"])
	assert.Equal(t, "::/64", line["counted_as"], "the line says what the address counts as")
	assert.Equal(t, "::/64", line["limited"], "and which network is slowed")

	v = newV6API(t, "[::1]:0", 1, admin.WithIPv6GuardPrefix(128))
	guess(t, v.base, http.DefaultClient, "at /128, the first guess")
	r = send(t, v.base, request{path: "/v1/clients", token: "tok"})
	require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)
	assert.Contains(t, r.errorText(t), "from this address;")
	line = v.throttledLine(t)
	assert.Equal(t, "::1", line["limited"])
	assert.NotContains(t, line, "counted_as", "an address that counts as itself is named once")
}
