package cluster_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
)

// TestNodesJoiningAtOnceAFreshR3Cluster: three nodes whose first start
// meets a fresh three-server NATS cluster at the same moment (docker
// compose starts them together) all join within seconds. Two of three
// concurrent creates of the same R3 bucket go unanswered by NATS (2.9
// through 2.15), and each such node waited out the whole 30 s setup
// timeout, logging that JetStream could not serve, before its next try
// found the bucket at once (on nats-server 2.9 it happened twice: 62 s).
func TestNodesJoiningAtOnceAFreshR3Cluster(t *testing.T) {
	t.Parallel()
	nc := testkit.NATSClusterOf3(t)
	urls := nc.URLs()
	var wg sync.WaitGroup
	took := make([]time.Duration, 3)
	errs := make([]error, 3)
	conns := make([]*nats.Conn, 3)
	for i := range 3 {
		c, err := nats.Connect(urls[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		conns[i] = c
	}
	start := make(chan struct{})
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			n, err := cluster.Join(conns[i], []string{"n1", "n2", "n3"}[i], cluster.WithReplicas(3))
			took[i], errs[i] = time.Since(t0), err
			if n != nil {
				n.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range 3 {
		if errs[i] != nil || took[i] > 20*time.Second {
			t.Errorf("node %d joined in %s: %v", i+1, took[i].Round(time.Millisecond), errs[i])
		}
	}
}
