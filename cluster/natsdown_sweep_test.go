package cluster_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
)

// With NATS down, every admin endpoint of a node with the event log on
// answers within 3 s (less than the admin client's 5 s), never 500 (which
// would say cliser is broken), and every error is JSON that says what
// went wrong: 503 for what needs NATS, the node's own view otherwise.
func TestEveryEndpointAnswersWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	ns, restartNATS := restartableNATS(t)
	n1 := startNodeOpts(t, ns.ClientURL(), "n1", node.WithEventRetention(1000))
	n2 := startNodeOpts(t, ns.ClientURL(), "n2", node.WithEventRetention(1000))
	register(t, n1.srv.Addr(), "near-1")
	register(t, n2.srv.Addr(), "far-1")
	eventually(t, func() bool { return n1.listed(t, "far-1") && n1.listed(t, "near-1") }, "both listed on n1")
	prepareSweep(t, n1)

	stopNATS(t, ns, n1)

	sweepEndpoints(t, n1, "far-1", 3*time.Second)
	restartNATS()
	n1.stop()
	n2.stop()
}

// prepareSweep makes what sweepEndpoints deletes: the credential of
// dev-2 and a ban of client ID bad-2. A 503 is tried again: on a loaded
// machine an R3 fleet's node can be between NATS servers as the test
// begins (a heartbeat timed out), and the write's answer says so.
func prepareSweep(t *testing.T, tn *testNode) {
	t.Helper()
	for _, setup := range []struct{ path, body string }{
		{"/v1/credentials/dev-2", ""},
		{"/v1/bans", `{"kind": "cid", "value": "bad-2", "reason": "x"}`},
	} {
		url := "http://" + tn.n.AdminAddr() + setup.path
		status, body := testkit.HTTPDo(t, http.MethodPost, url, setup.body, nil)
		for deadline := time.Now().Add(15 * time.Second); status == http.StatusServiceUnavailable && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // polling until NATS answers
			status, body = testkit.HTTPDo(t, http.MethodPost, url, setup.body, nil)
		}
		require.Equal(t, http.StatusCreated, status, "%s: %s", setup.path, body)
	}
}

// sweepEndpoints calls every admin endpoint of tn once, far a client of
// another node, and checks that each answers within bound, none with
// 500, every error as JSON with an "error" (after prepareSweep).
func sweepEndpoints(t *testing.T, tn *testNode, far string, bound time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + tn.n.AdminAddr()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/healthz", ""},
		{"GET", "/readyz", ""},
		{"GET", "/metrics", ""},
		{"GET", "/v1/clients", ""},
		{"GET", "/v1/clients/" + far, ""},
		{"GET", "/v1/clients/near-1", ""},
		{"GET", "/v1/stats", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/v1/events?after=0", ""},
		{"GET", "/v1/events?after=0&cid=" + far, ""},
		{"GET", "/v1/events/stream?after=0", ""},
		{"GET", "/v1/clients/" + far + "/history", ""},
		{"GET", "/v1/credentials", ""},
		{"GET", "/v1/credentials/" + far, ""},
		{"GET", "/v1/bans", ""},
		{"POST", "/v1/clients/" + far + "/kick", ""},
		{"POST", "/v1/clients/" + far + "/shutdown", `{"reason": "x"}`},
		{"POST", "/v1/shutdown", `{"reason": "x"}`},
		{"POST", "/v1/credentials/dev-1", ""},
		{"DELETE", "/v1/credentials/dev-2", ""},
		{"POST", "/v1/bans", `{"kind": "cid", "value": "bad-1", "reason": "x"}`},
		{"DELETE", "/v1/bans/cid/bad-2", ""},
	} {
		req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		require.NoError(t, err)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		resp, err := hc.Do(req)
		took := time.Since(start)
		if !assert.NoError(t, err, "%s %s", c.method, c.path) {
			continue
		}
		var body []byte
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			body, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		t.Logf("%s %s: %d in %v: %.200s", c.method, c.path, resp.StatusCode, took.Round(time.Millisecond), body)
		assert.NotEqual(t, http.StatusInternalServerError, resp.StatusCode, "%s %s: %s", c.method, c.path, body)
		assert.Less(t, took, bound, "%s %s", c.method, c.path)
		if resp.StatusCode >= 400 {
			var e struct{ Error string }
			assert.NoError(t, json.Unmarshal(body, &e), "%s %s: a JSON error: %s", c.method, c.path, body)
			assert.NotEmpty(t, e.Error, "%s %s", c.method, c.path)
		}
	}
}

// Two of three NATS servers lost at once: the streams have no quorum, the
// node's connection stays up on the third, and NATS takes requests it does
// not answer. Every admin endpoint still answers within 4.5 s, under the
// admin client's 5 s, none with 500.
func TestEveryEndpointAnswersWithoutQuorum(t *testing.T) {
	t.Parallel()
	f := startR3Fleet(t)
	prepareSweep(t, f.nodes[0])
	f.nats.Stop(1)
	f.nats.Stop(2)
	for _, tn := range f.nodes {
		eventually(t, func() bool { return tn.nc.ConnectedUrl() == f.nats.URLs()[0] }, "%s on the last server", tn.id)
	}
	// Connected, yet NATS does not answer: the node says so (natsOK), by
	// its metric, its health note and its stale reads, while its
	// connection is up (a move between servers would say it anyway).
	for _, tn := range f.nodes {
		eventually(t, func() bool {
			return tn.nc.IsConnected() && tn.metric(t, cluster.MetricClusterNATSConnected, "") == 0 &&
				tn.node.HealthNote() != nil && tn.node.Stale() && tn.nc.IsConnected()
		}, "%s: NATS is not answering, and it says so", tn.id)
	}
	sweepEndpoints(t, f.nodes[0], "n2-a", 4500*time.Millisecond)
	refused := concurrentIdentityWrites(t, f.nodes[0], 6, 4500*time.Millisecond)
	// Back, so that the nodes stop without waiting out their writes.
	f.nats.Start(1)
	f.nats.Start(2)
	f.nats.WaitCurrent(r3Streams...)
	for _, path := range refused {
		eventually(t, func() bool {
			status, _ := testkit.HTTPDo(t, "GET", "http://"+f.nodes[1].n.AdminAddr()+path, "", nil)
			return status == http.StatusNotFound
		},
			"%s, refused, is not in the store", path)
	}
}

// concurrentIdentityWrites makes n credentials at once on tn while the
// store does not answer: one is tried and times out, and the ones queued
// behind it are refused at once rather than each waiting out a timeout
// of its own. Each answer must come within bound, a JSON 503. It returns
// the credentials' paths that were refused (not made).
func concurrentIdentityWrites(t *testing.T, tn *testNode, n int, bound time.Duration) []string {
	t.Helper()
	type answer struct {
		path   string
		status int
		body   string
		took   time.Duration
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			path := fmt.Sprintf("/v1/credentials/dev-c%d", i)
			start := time.Now()
			resp, err := http.Post("http://"+tn.n.AdminAddr()+path, "application/json", nil)
			if err != nil {
				answers <- answer{path: path, body: err.Error(), took: time.Since(start)}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{path, resp.StatusCode, string(body), time.Since(start)}
		}()
	}
	var refused []string
	for range n {
		a := <-answers
		t.Logf("POST %s: %d in %v: %.200s", a.path, a.status, a.took.Round(time.Millisecond), a.body)
		assert.Equal(t, http.StatusServiceUnavailable, a.status, "POST %s: %s", a.path, a.body)
		assert.Less(t, a.took, bound, "POST %s", a.path)
		if strings.Contains(a.body, "this one was not made") {
			refused = append(refused, a.path)
		}
	}
	assert.Len(t, refused, n-1, "all but the write the store was tried with are refused")
	return refused
}
