package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// TestRegistrationsShareSlotMessages: a node writes its clients by slot
// (64 sids a slot), so 500 registrations are a few slot keys and far
// fewer stored messages than registrations, and another node's index
// has every one of them.
func TestRegistrationsShareSlotMessages(t *testing.T) {
	url := runNATS(t)
	n1 := startNodeWith(t, url, "n1", idleClients())
	n2 := startNode(t, url, "n2")
	const clients = 500
	// Pipelined, as a fleet coming back. One handshake after another
	// spread over ~260 of the 50 ms flushes at load 8-10, and the writes
	// had little to share (262 for 500).
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.DialTimeout("tcp", n1.srv.Addr(), 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		conns[i] = c
		_, err = fmt.Fprintf(c, "110 %s\n120 slot-%03d\n", testPassword, i)
		require.NoError(t, err)
	}
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		r := bufio.NewReader(c)
		for _, want := range []string{"110 ", "120 ", "140 "} {
			line, err := r.ReadString('\n')
			require.NoError(t, err, "client %d", i)
			require.True(t, strings.HasPrefix(line, want), "client %d: want %q, got %q", i, want, line)
		}
	}
	eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterConnected, "") == clients },
		"n2's index has every client")

	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	stream, err := js.Stream(ctx, "KV_"+cluster.DefaultClientsBucket)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	t.Logf("%d registrations: %d slot keys, %d writes", clients, info.State.Msgs, info.State.LastSeq)
	assert.LessOrEqual(t, info.State.Msgs, uint64(clients/64+1), "one key per slot of 64 sids")
	assert.Less(t, info.State.LastSeq, uint64(clients/2), "registrations share their slot's writes")
	keys, err := clientsKV(t, url).Keys(ctx)
	require.NoError(t, err)
	for _, k := range keys {
		node, _, err := cluster.ParseSlotKey(k)
		require.NoError(t, err, k)
		assert.Equal(t, "n1", node)
	}
	all := n2.listAll(t, "connected", 64)
	require.Len(t, all, clients)
	assertOnce(t, cidsOf(all))
}

// TestStartRefusesPerClientBucket: a bucket written by a build before the
// slots (a key per client) is refused with a message that says what to
// do, not misread; once its keys are deleted, the node starts.
func TestStartRefusesPerClientBucket(t *testing.T) {
	url := runNATS(t)
	first := startNode(t, url, "n0") // makes the bucket
	first.stop()
	_, err := clientsKV(t, url).Put(context.Background(), "old-1",
		[]byte(`{"sid":1,"cid":"old-1","cip":"127.0.0.1","cport":"1","cstatus":true,"reason":"","node":"n9"}`))
	require.NoError(t, err)

	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	n, err := cluster.Join(nc, "n1")
	require.NoError(t, err)
	err = n.Start(registry.New(registry.WithStore(n.Store())), nil)
	require.ErrorIs(t, err, cluster.ErrOldLayout)
	assert.Contains(t, err.Error(), "nats kv rm")
	require.NoError(t, n.Close())

	// A per-client key deleted is no record of that layout: the node starts.
	require.NoError(t, clientsKV(t, url).Delete(context.Background(), "old-1"))
	startNode(t, url, "n2")
}

func cidsOf(recs []admin.ClientRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.CID
	}
	return out
}
