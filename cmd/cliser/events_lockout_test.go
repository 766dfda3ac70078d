package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
)

// A tail whose address is locked out for wrong tokens (429) says so once,
// with the wait, and waits the Retry-After: it said "stream dropped ...;
// reconnecting" of a stream never up, and tried again every half second,
// each try refused and counted as one more 429 (CLI audit).
func TestEventsTailWaitsOutAWrongTokenLockout(t *testing.T) {
	cliEnv(t)
	const token = "the-right-token"
	testkit.Binary(t) // built before the lockout, which lasts 3 s
	n := nodetest.Start(t, node.WithAdminToken(token), node.WithDataDir(t.TempDir()), node.WithEventRetention(1000),
		node.WithAdminOptions(admin.WithAuthFailLimit(2, 6*time.Second))) // a token back every 3 s
	base := "http://" + n.AdminAddr()

	wrong, err := admin.NewClient(base, "a-wrong-token", 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t.Setenv("CLISER_ADMIN_TOKEN", token)
	// Without --after the first request pins the newest seq (GET
	// /v1/events); with it, the first is the stream's.
	for i, args := range [][]string{nil, {"--after", "0"}} {
		require.Eventually(t, func() bool { // guess until this address is locked out
			_, err := wrong.Events(ctx, nil, 1, admin.EventsFilter{}, 0)
			var se *admin.StatusError
			return errors.As(err, &se) && se.Status == http.StatusTooManyRequests
		}, waitFor, tick)
		before := throttledCount(t, n.Metrics())

		tp := startTail(t, base, args...)
		require.Eventually(t, func() bool { return strings.Contains(tp.stderr.String(), "cliser: connected\n") },
			20*time.Second, 10*time.Millisecond, "%v: the tail never got past the lockout: %s", args, tp.stderr.String())
		cid := fmt.Sprintf("after-lockout-%d", i)
		opsConnect(t, n.Addr(), nodetest.Password, cid)
		for !strings.Contains(tp.nextLine(t), "cid="+cid) { // --after 0 prints the earlier ones first
		}

		stderr := tp.stderr.String()
		assert.NotContains(t, stderr, "stream dropped", "%v: no stream was up", args)
		assert.Equal(t, 1, strings.Count(stderr, "locks this address out"), "%v: %s", args, stderr)
		assert.Regexp(t, regexp.MustCompile(`locks this address out for a while: too many wrong tokens came from it .*; trying again in [1-3]s\n`), stderr)
		assert.Equal(t, 1.0, throttledCount(t, n.Metrics())-before, "%v: the tail tried again before the Retry-After: %s", args, stderr)
	}
}

// throttledCount is the node's count of requests answered 429.
func throttledCount(t *testing.T, m *admin.Metrics) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() == admin.MetricAdminAuthThrottled {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s", admin.MetricAdminAuthThrottled)
	return 0
}
