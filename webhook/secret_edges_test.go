package webhook

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The warning's bound is Standard Webhooks' 24 bytes exactly: a key of 23
// is warned of, one of 24 is not. A mutation audit found the bound
// movable to 23 with every test passing (the other test's short key has 11).
func TestShortKeyWarningIsUnderTwentyFourBytesExactly(t *testing.T) {
	key := func(n int) string {
		return "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n)))
	}
	sg, err := ParseSecrets(key(24) + " " + key(23) + " " + key(25))
	require.NoError(t, err)
	core, logs := observer.New(zapcore.WarnLevel)
	l, dir := tempLog(t)
	_, err = New("http://127.0.0.1:1/hook", l, sg, openCursor(t, dir, "http://127.0.0.1:1/hook"), WithLogger(zap.New(core)))
	require.NoError(t, err)
	warned := logs.FilterMessageSnippet("under 24 bytes").All()
	require.Len(t, warned, 1)
	assert.Equal(t, "[2] [23]", fmt.Sprint(warned[0].ContextMap()["secret"], " ", warned[0].ContextMap()["bytes"]),
		"the 23-byte key alone")
}

// A rotation (SetSigner, a SIGHUP) during a batch's retries signs its
// next try with the new secrets: a receiver that already switched to the
// new secret refuses the old signature, and the batch kept failing, with
// the old secret, until a restart. A mutation audit found the signer kept
// for good after the first request with every test of the package passing.
func TestRetryAfterARotationIsSignedWithTheNewSecret(t *testing.T) {
	newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the-new-secret-of-32-bytes-long!"))
	var mu sync.Mutex
	var ids []string
	var accepted int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get(HeaderID), r.Header.Get(HeaderTimestamp)
		ok := hmacVerify(newSecret, id, ts, body, r.Header.Get(HeaderSignature))
		mu.Lock()
		ids = append(ids, id)
		if ok {
			accepted++
		}
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	l, dir := tempLog(t)
	r := startDeliverer(t, srv.URL, l, openCursor(t, dir, srv.URL), WithLinger(time.Millisecond)) // signs with vectorSecret
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return metricValue(t, r.d, MetricRequests, Result4xx) >= 2 }, "refused under the old secret, retried")

	sg, err := ParseSecrets(newSecret)
	require.NoError(t, err)
	require.NoError(t, r.d.SetSigner(sg))
	eventually(t, func() bool { return r.d.Acked() == 1 }, "the batch acknowledged once signed with the new secret")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, accepted)
	for _, id := range ids {
		assert.Equal(t, ids[0], id, "every try is the same request")
	}
}
