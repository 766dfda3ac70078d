package cluster_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
)

// On a NATS server before 2.11 (no batched direct get) a list page reads
// its slots one by one, 32 at a time. Those reads put their answers in
// the page's map while the loop that starts them read it unlocked:
// "fatal error: concurrent map read and map write" killed the node on a
// GET /v1/clients whose page spans many slots (reproduced against
// nats-server 2.9.10); under -race any page of two slots fails.
func TestListReadsSlotsOneByOneWithoutARace(t *testing.T) {
	url := runNATS(t)
	n1 := startNode(t, url, "n1", cluster.WithoutBatchGet())
	const clients = 140 // sids 1..140: three slots of 64
	for i := range clients {
		c := register(t, n1.srv.Addr(), fmt.Sprintf("each-%03d", i))
		require.NoError(t, c.Conn.Close())
	}
	eventually(t, func() bool { return len(n1.listAll(t, "", 1000)) == clients }, "every record listed")
	for range 20 {
		require.Len(t, n1.listAll(t, "", 1000), clients)
	}
	page, err := n1.api.List(context.Background(), "", "", 1000, "")
	require.NoError(t, err)
	assert.Len(t, page.Clients, clients)
	assert.Empty(t, page.Next, "the last page names no next")
}
