package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/cliser/cliser/internal/testkit"
)

// staleLoad is a node's KV cursor whose Load came before another node's
// first write: two nodes starting together with a new webhook.
type staleLoad struct{ *KVCursor }

func (staleLoad) Load(context.Context) (State, bool, error) { return State{}, false, nil }

// Nodes that start together with a new webhook each fix its start (serve
// does before it accepts clients); the first one's stands. A node that
// fixed it later, after its own clients' events, would have skipped the
// first node's.
func TestClusterNodesStartingTogetherKeepTheFirstStart(t *testing.T) {
	natsURL := testkit.NATS(t).ClientURL()
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)

	n1, n2 := openStreamNode(t, natsURL, "n1"), openStreamNode(t, natsURL, "n2")
	n1.appendCIDs(t, "old-", 3)
	require.Eventually(t, func() bool { return n1.s.Newest() == 3 }, 10*time.Second, 10*time.Millisecond)
	d1, err := New(url, n1.s, sg, n1.cursor(t, url), WithLogger(n1.zl))
	require.NoError(t, err)
	require.NoError(t, d1.Begin(t.Context()))

	n1.appendCIDs(t, "new-", 2)
	require.Eventually(t, func() bool { return n2.s.Newest() == 5 }, 10*time.Second, 10*time.Millisecond)
	d2, err := New(url, n2.s, sg, staleLoad{n2.cursor(t, url)}, WithLogger(n2.zl))
	require.NoError(t, err)
	require.NoError(t, d2.Begin(t.Context()))
	st, found, err := n2.cursor(t, url).Load(t.Context())
	require.NoError(t, err)
	require.True(t, found)
	require.EqualValues(t, 3, st.Acked, "the first node's start stands")
	assert.Equal(t, 1, logLines(n1.logs, zapcore.InfoLevel, "webhook: new"))
	assert.Zero(t, logLines(n2.logs, zapcore.InfoLevel, "webhook: new"), "n2 fixed nothing")

	n2.deliver(t, url)
	waitDelivered(rc, 2)
	require.Equal(t, seqCIDs(4, "new-", 2), delivered(rc))
}
