package node_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/registry"
)

// A record --retention pruned stays pruned across a restart: the start
// weighs the registry's store against the event log's newest sessions,
// and took a session the store no longer held for one a kill -9 kept
// from it, so every pruned client whose events were still among the
// log's newest came back (written back to the store too) until the next
// checkpoint pruned it again.
func TestRetentionPrunedRecordStaysGoneAfterRestart(t *testing.T) {
	dir := t.TempDir()
	opts := []node.Option{node.WithDataDir(dir), node.WithEventRetention(1000), node.WithRetention(time.Second),
		node.WithRegistryOptions(registry.WithCheckpoint(100 * time.Millisecond))}
	n := nodetest.Start(t, opts...)
	c := testkit.Dial(t, n.Addr())
	c.Register(nodetest.Password, "pruned-1")
	_ = c.Conn.Close()
	url := "http://" + n.AdminAddr() + "/v1/clients/pruned-1"
	require.Eventually(t, func() bool {
		code, _ := testkit.HTTPGet(t, url)
		return code == http.StatusNotFound
	}, 15*time.Second, 20*time.Millisecond, "retention prunes the record")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))

	again := nodetest.Start(t, opts...)
	code, body := testkit.HTTPGet(t, "http://"+again.AdminAddr()+"/v1/clients/pruned-1")
	assert.Equal(t, http.StatusNotFound, code, "a pruned record came back from the event log: %s", body)
}
