package cluster_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/internal/testkit"
)

// TestWatchReadsHeadersOnly: a node's record writes carry its holder and
// status as headers, the nodes' watch consumers are headers-only (no
// record body is delivered to them), and the index follows the headers.
// Records written without the headers (an older build, `nats kv put`) are
// read from the bucket: TestFutureReasonKeptAsText writes so.
func TestWatchReadsHeadersOnly(t *testing.T) {
	url := runNATS(t)
	_, js := testkit.JetStream(t, url)
	ctx := context.Background()
	n1 := startNode(t, url, "n1")
	n2 := startNode(t, url, "n2")
	c := register(t, n1.srv.Addr(), "hdr-1")
	eventually(t, func() bool { return n2.listed(t, "hdr-1") }, "n2 lists n1's client")

	stream, err := js.Stream(ctx, "KV_"+cluster.DefaultClientsBucket)
	require.NoError(t, err)
	subject := "$KV." + cluster.DefaultClientsBucket + ".hdr-1"
	m, err := stream.GetLastMsgForSubject(ctx, subject)
	require.NoError(t, err)
	assert.Equal(t, "n1", m.Header.Get("Cliser-Node"))
	assert.Equal(t, "1", m.Header.Get("Cliser-Connected"))

	watchers := 0
	for ci := range stream.ListConsumers(ctx).Info() {
		watchers++
		assert.True(t, ci.Config.HeadersOnly, "consumer %s delivers record bodies", ci.Name)
	}
	assert.Equal(t, 2, watchers, "one watch per node")

	require.NoError(t, c.Conn.Close())
	eventually(t, func() bool {
		m, err := stream.GetLastMsgForSubject(ctx, subject)
		return err == nil && m.Header.Get("Cliser-Connected") == "0"
	}, "the end is written with its header")
	eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterConnected, "") == 0 }, "n2's index: disconnected")

	// The index takes the headers, not the body: a write whose body says
	// otherwise is indexed as its headers say.
	body := []byte(`{"sid":1,"cid":"hdr-2","cstatus":false,"node":"n3","reason":"kicked"}`)
	_, err = js.PublishMsg(ctx, &nats.Msg{Subject: "$KV." + cluster.DefaultClientsBucket + ".hdr-2", Data: body,
		Header: nats.Header{"Cliser-Node": []string{"n3"}, "Cliser-Connected": []string{"1"}}})
	require.NoError(t, err)
	eventually(t, func() bool { return n2.metric(t, cluster.MetricClusterConnected, "") == 1 },
		"n2's index counts hdr-2 connected, as its headers say")
}

// TestStartIndexesRecordsWithoutHeaders: a node starting on a bucket of
// records written before the index's headers (an upgrade) takes them
// from its first watch's bodies, not with a read per record, and then
// watches on headers-only.
func TestStartIndexesRecordsWithoutHeaders(t *testing.T) {
	ns := testkit.NATS(t)
	url := ns.ClientURL()
	first := startNode(t, url, "n0") // makes the bucket
	first.stop()
	kv := clientsKV(t, url)
	ctx := context.Background()
	const records = 2000
	for i := range records {
		cid := fmt.Sprintf("old-%04d", i)
		doc := fmt.Sprintf(`{"sid":%d,"cid":%q,"cip":"127.0.0.1","cport":"1","cstatus":%t,"connected_at":"2026-11-30T00:00:00Z","last_seen":"2026-11-30T00:00:00Z","reason":"","node":"n9"}`,
			i+1, cid, i%2 == 0)
		_, err := kv.Put(ctx, cid, []byte(doc))
		require.NoError(t, err)
	}
	inMsgs := func() int64 {
		v, err := ns.Varz(nil)
		require.NoError(t, err)
		return v.InMsgs
	}
	before := inMsgs()
	n1 := startNode(t, url, "n1")
	assert.Equal(t, float64(records), n1.metric(t, cluster.MetricClusterRecords, ""), "every record indexed at start")
	assert.Equal(t, float64(records/2), n1.metric(t, cluster.MetricClusterConnected, ""))
	assert.Less(t, inMsgs()-before, int64(records/4), "a read per record at start")

	_, js := testkit.JetStream(t, url)
	stream, err := js.Stream(ctx, "KV_"+cluster.DefaultClientsBucket)
	require.NoError(t, err)
	eventually(t, func() bool {
		all, headersOnly := 0, 0
		for ci := range stream.ListConsumers(ctx).Info() {
			all++
			if ci.Config.HeadersOnly {
				headersOnly++
			}
		}
		return all == 1 && headersOnly == 1
	}, "the start's watch with bodies gave way to one headers-only watch")
}
