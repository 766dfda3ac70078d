package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// signedRequest is one request a sigReceiver got, as sent.
type signedRequest struct {
	header http.Header
	body   []byte
}

// sigReceiver answers 204 to every request and keeps each, to be verified
// afterwards against one secret at a time.
type sigReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []signedRequest
}

func newSigReceiver(t *testing.T) *sigReceiver {
	rc := &sigReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, signedRequest{r.Header.Clone(), body})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// carrying is the request whose body names cid, once it came.
func (rc *sigReceiver) carrying(cid string) (signedRequest, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, r := range rc.reqs {
		if strings.Contains(string(r.body), `"cid":"`+cid+`"`) {
			return r, true
		}
	}
	return signedRequest{}, false
}

// signedBy says whether r carries a valid signature by secret (the
// Standard Webhooks library's Verify, which takes any of the header's).
func signedBy(t *testing.T, r signedRequest, secret string) bool {
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	return wh.Verify(r.body, r.header) == nil
}

func newWebhookSecret(t *testing.T) string {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// A receiver's secret rotated without restarting cliser (which would have
// every client reconnect): the secret file gets the new secret beside
// the old one, SIGHUP, the receiver switches, the old one goes, SIGHUP.
// Each request after a reload carries exactly the signatures of the file
// then; a file with a bad secret keeps the secrets in force, counted.
// No secret reaches the log.
func TestBinarySIGHUPReloadsTheWebhookSecrets(t *testing.T) {
	oldSecret, newSecret := whSecret, newWebhookSecret(t)
	dir := t.TempDir()
	secretFile := writeFile(t, dir, "webhook-secrets", oldSecret+"\n")
	rc := newSigReceiver(t)
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "CLISER_WEBHOOK_SECRET="},
		serveArgs(t.TempDir(), "--webhook-url", rc.srv.URL+"/hook", "--webhook-secret-file", secretFile,
			"--webhook-linger", "10ms")...)
	base := p.AdminURL(t)
	sent := func(cid string) signedRequest {
		t.Helper()
		opsConnect(t, p.Addr, opsPassword, cid)
		var r signedRequest
		require.Eventually(t, func() (ok bool) { r, ok = rc.carrying(cid); return ok }, waitFor, tick, "%s's event never came", cid)
		return r
	}
	reload := func(secrets, result string, n float64) {
		t.Helper()
		writeFile(t, dir, "webhook-secrets", secrets)
		p.Reload(t)
		require.Eventually(t, func() bool {
			v, _ := testkit.Metric(base, `cliser_webhook_secret_reloads_total{result="`+result+`"}`)
			return v == n
		}, waitFor, tick, "the reload is counted %s:\n%s", result, p.LogText())
	}

	r := sent("signed-old")
	assert.True(t, signedBy(t, r, oldSecret))
	assert.Len(t, strings.Fields(r.header.Get("webhook-signature")), 1)

	reload(oldSecret+"\n"+newSecret+"\n", "ok", 1)
	r = sent("signed-both")
	assert.True(t, signedBy(t, r, oldSecret), "the receiver may still check the old one")
	assert.True(t, signedBy(t, r, newSecret), "or already the new one")
	assert.Len(t, strings.Fields(r.header.Get("webhook-signature")), 2)

	reload(newSecret+"\n", "ok", 2)
	r = sent("signed-new")
	assert.True(t, signedBy(t, r, newSecret))
	assert.False(t, signedBy(t, r, oldSecret), "the old secret is gone")

	reload("whsec_not-base64!\n", "failed", 1)
	r = sent("signed-new-still")
	assert.True(t, signedBy(t, r, newSecret), "a bad file keeps the secrets in force")
	assert.False(t, signedBy(t, r, oldSecret))

	logs := p.LogText()
	assert.Contains(t, logs, `"msg":"SIGHUP: webhook secrets reloaded; the next request is signed with these"`)
	assert.Contains(t, logs, `"msg":"SIGHUP: webhook secret reload failed; the current secrets stay in force"`)
	assert.Contains(t, logs, "secret 1 of 1")
	for _, s := range []string{oldSecret, newSecret, "not-base64"} {
		assert.NotContains(t, logs, strings.TrimPrefix(s, "whsec_"), "a secret reached the log")
	}
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}
