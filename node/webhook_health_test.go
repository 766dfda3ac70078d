package node_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/webhook"
)

// A receiver that does not acknowledge shows in /readyz's body, still 200,
// for as long as it fails (its log line came once), and not once it
// acknowledges again.
func TestReadyzSaysTheWebhookFails(t *testing.T) {
	recv := testkit.NewReceiver(t, http.StatusInternalServerError)
	signer, err := webhook.ParseSecrets("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(t, err)
	n := nodetest.Start(t, node.WithDataDir(t.TempDir()), node.WithEventRetention(1000),
		node.WithWebhook(node.Webhook{URL: recv.URL + "/hook", Signer: signer, Batch: 10, Linger: 10 * time.Millisecond}))
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "hooked-1")

	readyz := "http://" + n.AdminAddr() + "/readyz"
	var body string
	require.Eventually(t, func() bool {
		var code int
		code, body = testkit.HTTPGet(t, readyz)
		return code == http.StatusOK && strings.Contains(body, `"webhook":"webhook: `+recv.URL+`/hook has not acknowledged since `)
	}, 10*time.Second, 20*time.Millisecond, "readyz: %s", body)
	assert.Contains(t, body, "(last answer: http_5xx (HTTP 500)); retrying")
	// /v1/health says the same, as a 200 the dashboard reads.
	health := "http://" + n.AdminAddr() + "/v1/health"
	code, hbody := testkit.HTTPGet(t, health)
	require.Equal(t, http.StatusOK, code, hbody)
	assert.Contains(t, hbody, `"ready":true,`)
	assert.Contains(t, hbody, `"notes":{"webhook":"webhook: `+recv.URL+`/hook has not acknowledged since `)

	recv.Down.Store(false)
	require.Eventually(t, func() bool {
		var code int
		code, body = testkit.HTTPGet(t, readyz)
		return code == http.StatusOK && !strings.Contains(body, "webhook")
	}, 10*time.Second, 20*time.Millisecond, "readyz once the receiver acknowledges: %s", body)
	code, hbody = testkit.HTTPGet(t, health)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"ready":true}`, hbody)
}

// A receiver's 410 Gone is one ERROR line: the node said it again when
// the deliverer returned (metrics audit).
func TestWebhookGoneIsLoggedOnce(t *testing.T) {
	recv := testkit.NewReceiver(t, http.StatusGone)
	signer, err := webhook.ParseSecrets("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(t, err)
	core, logs := observer.New(zapcore.ErrorLevel)
	n := nodetest.New(t, node.WithLogger(zap.New(core)), node.WithDataDir(t.TempDir()), node.WithEventRetention(1000),
		node.WithWebhook(node.Webhook{URL: recv.URL + "/hook", Signer: signer, Batch: 10, Linger: 10 * time.Millisecond}))
	require.NoError(t, n.Start(context.Background()))
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "gone-1")
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("410 Gone").Len() > 0 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, n.Close())
	assert.Equal(t, 1, logs.FilterMessageSnippet("410 Gone").Len(), "one line for one 410")
}
