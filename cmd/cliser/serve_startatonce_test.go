package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/cliser/cliser/internal/testkit"
)

// Three nodes started at the same moment on a fresh NATS cluster of three
// (deploy/cluster-compose.yaml starts them so) are all ready well within
// the 30 s a stream's or bucket's making may take: NATS left two of three
// concurrent creates of each R3 bucket unanswered, and such a node waited
// out the whole 30 s, logging that JetStream could not serve (old-NATS
// audit). The event stream and the webhook's buckets are made at the same
// start, and a failure there ends it. Measured here: 13–18 s with the
// fix, 31.5 s for two of three without; the bound is under that 30 s.
func TestBinaryNodesStartedTogetherOnAFreshNATSCluster(t *testing.T) {
	urls := testkit.NATSClusterOf3(t).URLs()
	env := testkit.Environ([]string{"CLISER_PASSWORD", "CLISER_CLUSTER", "CLISER_ADMIN_TOKEN", "CLISER_WEBHOOK_SECRET"}, "CLISER_PASSWORD=together",
		"CLISER_WEBHOOK_SECRET=whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAxMjM0NTY3")
	procs, bases := make([]*testkit.Process, 3), make([]string, 3)
	began := time.Now()
	for i := range procs {
		listen, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
		procs[i] = testkit.Start(t, env, "serve", "--listen", listen, "--admin-listen", admin, "--keepalive-interval", "1h",
			"--node-id", []string{"n1", "n2", "n3"}[i], "--data-dir", t.TempDir(), "--cluster", urls[i], "--cluster-replicas", "3",
			"--webhook-url", "http://127.0.0.1:1/hook")
		bases[i] = "http://" + admin
	}
	for i, p := range procs {
		untilWithin(t, p, 28*time.Second-time.Since(began), "every node ready", func() bool {
			code, _ := getNoFail(bases[i] + "/readyz")
			return code == http.StatusOK
		})
	}
	t.Logf("three nodes ready %s after their start", time.Since(began).Round(time.Millisecond))
}
