package admin

import (
	"bufio"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// Each swap of the tokens ends the event streams of the tokens it drops,
// the second swap as much as the first (docs/operations.md, rotating a
// token: add the new one, HUP, drop the old, HUP). A mutation audit found
// the wake-up of waiting streams (the channel Set closes, and its reset
// for the next Set) removable with every admin test passing.
func TestEveryTokenSwapEndsTheStreamsOfDroppedTokens(t *testing.T) {
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	tokens := NewTokens("token-a", "token-b")
	hs, err := New(registry.New(), WithEvents(log), WithTokens(tokens)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(t.Context())

	open := func(token string) chan string { // the stream's last line, once it ends
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+hs.Addr()+"/v1/events/stream", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		t.Cleanup(func() { _ = res.Body.Close() })
		ended := make(chan string, 1)
		go func() {
			last := ""
			for sc := bufio.NewScanner(res.Body); sc.Scan(); {
				if sc.Text() != "" {
					last = sc.Text()
				}
			}
			ended <- last
			close(ended)
		}()
		return ended
	}
	endsWithin := func(ended chan string, what string) {
		t.Helper()
		select {
		case last := <-ended:
			assert.Equal(t, ": stream ended: its token was revoked (a reload of the tokens)", last, "%s: said why (stream audit)", what)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: its stream is still open 10s after the swap", what)
		}
	}
	aEnded, bEnded := open("token-a"), open("token-b")

	require.NoError(t, tokens.Set([]string{"token-a", "token-c"}))
	endsWithin(bEnded, "token-b dropped by the first swap")
	select {
	case <-aEnded:
		t.Fatal("the stream of token-a, still listed, ended at the first swap")
	default:
	}

	require.NoError(t, tokens.Set([]string{"token-c"}))
	endsWithin(aEnded, "token-a dropped by the second swap")
}

// A long-poll waiting when a swap drops its token is answered 401 at
// once: it went on and handed over the next event (admin audit). One of a
// token kept waits on and gets it.
func TestATokenSwapAnswersTheLongPollsOfDroppedTokens(t *testing.T) {
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	tokens := NewTokens("token-a", "token-b")
	api := New(registry.New(), WithEvents(log), WithTokens(tokens))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(t.Context())

	type answer struct {
		code int
		body string
	}
	poll := func(token string) chan answer {
		done := make(chan answer, 1)
		go func() {
			code, body := testkit.HTTPDo(t, http.MethodGet, "http://"+hs.Addr()+"/v1/events?after=0&wait=1m", "",
				http.Header{"Authorization": {"Bearer " + token}})
			done <- answer{code, body}
		}()
		return done
	}
	kept, dropped := poll("token-a"), poll("token-b")
	require.Eventually(t, func() bool { return api.waits.open.Load() == 2 }, 10*time.Second, 10*time.Millisecond, "both polls wait")

	require.NoError(t, tokens.Set([]string{"token-a"}))
	select { // at once, not at its wait's end or the next event
	case a := <-dropped:
		assert.Equal(t, http.StatusUnauthorized, a.code, a.body)
		assert.Contains(t, a.body, "revoked while the request waited")
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll of the dropped token still waits")
	}
	why := "after the swap"
	require.True(t, log.Append(events.Event{Type: events.TypeBanCreated, Kind: "cid", Value: "x", Reason: &why}))
	select {
	case a := <-kept:
		assert.Equal(t, http.StatusOK, a.code, a.body)
		assert.Contains(t, a.body, "after the swap")
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll of the kept token got nothing")
	}
}
