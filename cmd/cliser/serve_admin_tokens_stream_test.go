package main

import (
	"bufio"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// An event stream opened with a token that a SIGHUP then drops ends, and
// its resume gets 401: the token was checked once, when the stream
// opened, and the stream kept bringing every event (addresses, ban
// reasons) to the holder of the revoked token (a browser audit). A
// stream on a token still listed goes on.
func TestBinarySIGHUPEndsTheStreamOfARevokedToken(t *testing.T) {
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "admin-tokens", "token-old\n")
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=token-env"},
		serveArgs(t.TempDir(), "--admin-token-file", tokenFile)...)
	url := "http://" + p.AdminAddr + "/v1/events/stream"
	open := func(token string) (*http.Response, chan struct{}) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		t.Cleanup(func() { _ = res.Body.Close() })
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
			}
		}()
		return res, ended
	}
	_, oldEnded := open("token-old")
	_, envEnded := open("token-env")

	writeFile(t, dir, "admin-tokens", "token-new\n")
	p.Reload(t)
	select {
	case <-oldEnded:
	case <-time.After(waitFor):
		t.Fatalf("the stream of the revoked token is still open %s after the reload", waitFor)
	}
	select {
	case <-envEnded:
		t.Fatal("the stream of a token still listed ended")
	default:
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer token-old")
	req.Header.Set("Last-Event-ID", "0")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "its resume is refused")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}
