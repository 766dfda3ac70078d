package node_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/webhook"
)

// A cluster node that starts with a new webhook fixes its start before it
// accepts clients, as a single node does: a client that connects before
// the node holds the delivery lease is the webhook's. The start used to
// be fixed by the lease holder's first run, after such clients, which
// were never sent. Here the lease is held elsewhere until the client's
// event is in the stream.
func TestClusterNewWebhookStartsBeforeTheFirstClient(t *testing.T) {
	var mu sync.Mutex
	var cids []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		body, _ := io.ReadAll(r.Body)
		assert.NoError(t, json.Unmarshal(body, &p))
		mu.Lock()
		for _, e := range p.Data.Events {
			cids = append(cids, e.Type+" "+e.CID)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	hookURL := recv.URL + "/hook"
	natsURL := testkit.NATS(t).ClientURL()

	_, js := testkit.JetStream(t, natsURL)
	other, err := webhook.NewKVLease(t.Context(), js, hookURL, "other", time.Second, 1, zap.NewNop())
	require.NoError(t, err)
	_, release, err := other.Acquire(t.Context())
	require.NoError(t, err)

	signer, err := webhook.ParseSecrets("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(t, err)
	n := nodetest.Start(t, node.WithCluster(natsURL, "n1"), node.WithClusterHeartbeat(time.Second),
		node.WithEventRetention(1000),
		node.WithWebhook(node.Webhook{URL: hookURL, Signer: signer, Batch: 10, Linger: 10 * time.Millisecond}))
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "early-1")
	stream, err := js.Stream(t.Context(), events.DefaultStreamName)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		info, err := stream.Info(t.Context())
		return err == nil && info.State.Msgs >= 1
	}, 10*time.Second, 10*time.Millisecond, "the client's event in the stream")

	release()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(cids) > 0
	}, 10*time.Second, 10*time.Millisecond, "delivered once n1 holds the lease")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{events.TypeConnected + " early-1"}, cids)
}
