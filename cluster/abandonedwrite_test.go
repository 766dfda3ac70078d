package cluster_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
)

// An operator's credential write whose request ends (the client gave up)
// while it waits behind a slow one is not made: the answer said it failed,
// so it must not land later. Before, it stayed queued and was written once
// its turn came, a credential with a secret nobody had seen.
func TestAbandonedIdentityWriteIsNotMade(t *testing.T) {
	natsURL := runNATS(t)
	relay := testkit.StartRelay(t, strings.TrimPrefix(natsURL, "nats://"))
	// A 10 s heartbeat paces the connection's PINGs (one every 0.8 s):
	// the hold below does not make it give the server up.
	n1 := startNodeOpts(t, "nats://"+relay.Addr(), "n1", node.WithClusterHeartbeat(10*time.Second))
	base := "http://" + n1.n.AdminAddr()
	post := func(cid string, timeout time.Duration) (int, error) {
		resp, err := (&http.Client{Timeout: timeout}).Post(base+"/v1/credentials/"+cid, "application/json", nil)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	relay.SetHeld(true) // n1's writes reach NATS only once let go
	slow := make(chan int, 1)
	go func() {
		status, err := post("slow-1", 10*time.Second)
		assert.NoError(t, err)
		slow <- status
	}()
	eventually(t, func() bool { return bytes.Contains(relay.Held(), []byte("$KV."+cluster.CredentialsBucket)) },
		"slow-1's write is on its way to NATS, held")
	_, err := post("gave-up-1", 300*time.Millisecond)
	require.Error(t, err, "the client gives up while its write waits behind slow-1's")
	eventually(t, func() bool {
		v, ok := testkit.Metric(base, admin.MetricIdentityAbandoned)
		return ok && v == 1
	}, "the node saw gave-up-1's request end")
	relay.SetHeld(false)
	assert.Equal(t, http.StatusCreated, <-slow, "slow-1's write, let go, is made")

	// A write after it: once it is answered, gave-up-1's turn has passed.
	status, err := post("after-1", 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status)
	// The node holds what its watch of the bucket applied, in order: once
	// it holds after-1, it would hold gave-up-1 had that been written.
	eventually(t, func() bool {
		code, _ := testkit.HTTPGet(t, base+"/v1/credentials/after-1")
		return code == http.StatusOK
	}, "after-1 held")
	for cid, want := range map[string]int{"slow-1": http.StatusOK, "gave-up-1": http.StatusNotFound} {
		code, body := testkit.HTTPGet(t, base+"/v1/credentials/"+cid)
		assert.Equal(t, want, code, "%s: %s", cid, body)
	}
}
