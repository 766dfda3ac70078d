package node_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/webhook"
)

func testSigner(t *testing.T) *webhook.Signer {
	t.Helper()
	signer, err := webhook.ParseSecrets("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(t, err)
	return signer
}

// A webhook the node cannot deliver is the operator's to fix (ErrConfig,
// exit 2), each for its own reason: without the event log (found by its
// own check, not by the missing secret TestNodeConfigMistakes's hook also
// lacks), and without a secret. The refused start lets go of the cursor
// file it opened: the same node started right, in the same process, is
// not kept waiting on the cursor's lock and refused.
func TestWebhookConfigMistakesReleaseTheCursor(t *testing.T) {
	dir := t.TempDir()
	url := "http://127.0.0.1:1/hook"
	noLog := nodetest.New(t, node.WithDataDir(t.TempDir()),
		node.WithWebhook(node.Webhook{URL: url, Signer: testSigner(t)}))
	err := noLog.Start(context.Background())
	require.ErrorIs(t, err, node.ErrConfig)
	require.ErrorContains(t, err, "needs the event log")

	noSecret := nodetest.New(t, node.WithDataDir(dir), node.WithEventRetention(100),
		node.WithWebhook(node.Webhook{URL: url}))
	err = noSecret.Start(context.Background())
	require.ErrorIs(t, err, node.ErrConfig, "a webhook without a secret")
	require.ErrorContains(t, err, webhook.ErrNoSecret.Error())

	ok := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(100),
		node.WithWebhook(node.Webhook{URL: url, Signer: testSigner(t)}))
	require.NotNil(t, ok.Webhook())
}

// A node stopped lets go of its webhook cursor: a node started again on
// the same data dir in the same process (a test, an embedder) delivers
// on, where it used to wait for the cursor's lock and fail.
func TestWebhookCursorIsFreeAfterShutdown(t *testing.T) {
	dir := t.TempDir()
	opts := []node.Option{node.WithDataDir(dir), node.WithEventRetention(100),
		node.WithWebhook(node.Webhook{URL: "http://127.0.0.1:1/hook", Signer: testSigner(t)})}
	first := nodetest.Start(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.StopTimeout)
	defer cancel()
	require.NoError(t, first.Shutdown(ctx))

	again := nodetest.New(t, opts...)
	require.NoError(t, again.Start(context.Background()), "the first node still held the cursor's lock")
}

// Node.Webhook's Batch is the most events a request carries
// (--webhook-batch). The receiver holds the first request until the log
// has two more events, so the backlog after it is one the deliverer
// could send together.
func TestWebhookBatchBoundsEachRequest(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	var held sync.Once
	first := make(chan struct{})
	release := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		body, _ := io.ReadAll(r.Body)
		assert.NoError(t, json.Unmarshal(body, &p))
		held.Do(func() { // the first request only
			close(first)
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		})
		mu.Lock()
		sizes = append(sizes, len(p.Data.Events))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)

	n := nodetest.Start(t, node.WithDataDir(t.TempDir()), node.WithEventRetention(100),
		node.WithWebhook(node.Webhook{URL: recv.URL + "/hook", Signer: testSigner(t), Batch: 1, Linger: 10 * time.Millisecond}))
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "batch-1")
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no request for the first event")
	}
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "batch-2")
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "batch-3")
	events := "http://" + n.AdminAddr() + "/v1/events?after=0"
	require.Eventually(t, func() bool {
		code, body := testkit.HTTPGet(t, events)
		return code == http.StatusOK && strings.Contains(body, `"batch-3"`)
	}, 10*time.Second, 10*time.Millisecond, "the backlog in the log")
	close(release)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, s := range sizes {
			total += s
		}
		return total >= 3
	}, 10*time.Second, 10*time.Millisecond, "the three events delivered")
	mu.Lock()
	defer mu.Unlock()
	for _, s := range sizes {
		assert.Equal(t, 1, s, "events in one request: %v", sizes)
	}
}

// A webhook cursor file found damaged stops the start with what to do,
// named by the data dir as the other data files' damage is.
func TestWebhookDamagedCursorNamesTheDataDir(t *testing.T) {
	dir := t.TempDir()
	url := "http://127.0.0.1:1/hook"
	path := filepath.Join(dir, webhook.CursorFile(url))
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{0xff}, 8<<10), 0o600))
	n := nodetest.New(t, node.WithDataDir(dir), node.WithEventRetention(100),
		node.WithWebhook(node.Webhook{URL: url, Signer: testSigner(t)}))
	err := n.Start(context.Background())
	require.ErrorContains(t, err, "data dir "+dir+": webhook cursor file damaged: "+path)
	require.ErrorContains(t, err, "mv "+path+" "+path+".damaged", "what to do")
	assert.NotErrorIs(t, err, node.ErrConfig, "damage is not a flag to fix")
}
