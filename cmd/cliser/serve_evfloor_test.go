package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// eventsAfter is GET /v1/events?after=N: the status, the events' seqs and
// next.
func eventsAfter(t *testing.T, base string, after uint64) (int, []uint64, uint64) {
	t.Helper()
	code, body := testkit.HTTPGet(t, fmt.Sprintf("%s/v1/events?after=%d&limit=1000", base, after))
	var page struct {
		Events []struct {
			Seq uint64 `json:"seq"`
		} `json:"events"`
		Next uint64 `json:"next"`
	}
	if code == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(body), &page), body)
	}
	seqs := make([]uint64, 0, len(page.Events))
	for _, e := range page.Events {
		seqs = append(seqs, e.Seq)
	}
	return code, seqs, page.Next
}

// oneEventAfter waits until GET /v1/events?after=N answers one event, and
// gives its seq; why says what the wait is for.
func oneEventAfter(t *testing.T, base string, after uint64, why string) []uint64 {
	t.Helper()
	var seqs []uint64
	require.Eventually(t, func() bool {
		var code int
		code, seqs, _ = eventsAfter(t, base, after)
		return code == http.StatusOK && len(seqs) == 1
	}, waitFor, tick, why)
	return seqs
}

// eventsThrough waits until GET /v1/events?after=N holds cid's connect,
// and gives the seqs up to it; why says what the wait is for.
func eventsThrough(t *testing.T, base string, after uint64, cid, why string) []uint64 {
	t.Helper()
	for deadline := time.Now().Add(waitFor); ; time.Sleep(tick) {
		code, body := testkit.HTTPGet(t, fmt.Sprintf("%s/v1/events?after=%d&limit=1000", base, after))
		var page struct {
			Events []struct {
				Seq  uint64 `json:"seq"`
				Type string `json:"type"`
				CID  string `json:"cid"`
			} `json:"events"`
		}
		if code == http.StatusOK {
			require.NoError(t, json.Unmarshal([]byte(body), &page), body)
			var seqs []uint64
			for _, e := range page.Events {
				seqs = append(seqs, e.Seq)
				if e.Type == "client.connected" && e.CID == cid {
					return seqs
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no connect of %s within %v; the last answer: %d %s", why, cid, waitFor, code, body)
		}
	}
}

// events.db moved away (a damaged one's refusal says to) after a stop or
// a kill -9: the new log's seqs go on past every seq the old one gave, so
// a consumer's cursor (next, Last-Event-ID, a webhook's) is answered: the
// new events, or 410 for what is gone. Seqs began at 1 again, and a
// consumer that kept next waited without a word until the new log passed it.
func TestBinaryEventLogBegunAnewKeepsSeqsGrowing(t *testing.T) {
	for _, stop := range []string{"SIGTERM", "SIGKILL"} {
		t.Run(stop, func(t *testing.T) {
			dataDir := t.TempDir()
			env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
			p := testkit.Serve(t, env, serveArgs(dataDir)...)
			for i := range 3 {
				opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("before-%d", i))
			}
			var last uint64 // the newest seq the old log gave
			require.Eventually(t, func() bool {
				var seqs []uint64
				_, seqs, last = eventsAfter(t, p.AdminURL(t), 0)
				return len(seqs) == 3
			}, waitFor, tick)
			evFile := filepath.Join(dataDir, events.FileName)
			if stop == "SIGKILL" { // it writes no event
				require.NoError(t, p.Cmd.Process.Kill())
				<-p.Exited
			} else {
				require.Equal(t, 0, p.Stop(t))
				old, err := events.Open(evFile) // the stop's events too (its floor is settled: no change)
				require.NoError(t, err)
				last = old.Newest()
				require.NoError(t, old.Close())
			}
			require.NoError(t, os.Rename(evFile, evFile+".damaged"))

			p2 := testkit.Serve(t, env, serveArgs(dataDir)...)
			p2.WaitLog(t, waitFor, "the event log begins anew")
			base := p2.AdminURL(t)
			code, seqs, next := eventsAfter(t, base, last)
			if stop == "SIGTERM" {
				require.Equal(t, http.StatusOK, code, "after a clean stop, a consumer that had every event missed none")
				assert.Empty(t, seqs)
				assert.Equal(t, last, next)
			} else {
				// A kill leaves the floor's reserve: the events after last
				// may have been given and are gone either way.
				require.Equal(t, http.StatusGone, code)
				_, body := testkit.HTTPGet(t, base+"/v1/events?limit=1") // resume from the newest, as a 410 says to
				var page struct{ Next uint64 }
				require.NoError(t, json.Unmarshal([]byte(body), &page), body)
				next = page.Next
				require.Greater(t, next, last)
			}
			opsConnect(t, p2.Addr, opsPassword, "after-1")
			// After a kill the new log may also hold the "server restarted"
			// ends of the clients from before (when the registry had written
			// them): logged at the start, and on a loaded machine committed
			// after next was read.
			after := eventsThrough(t, base, next, "after-1", "the consumer gets the new log's events")
			assert.Equal(t, next+1, after[0], "from the one after next, none skipped")
			assert.Greater(t, after[0], last, "seq never goes back")
			code, _, _ = eventsAfter(t, base, 1)
			assert.Equal(t, http.StatusGone, code, "one behind is told its events are gone")
			assert.Equal(t, 0, p2.Stop(t), p2.LogText())
		})
	}
}

// An older events.db put back from a backup (the damage refusal offers
// it) after a clean stop: the server starts, its seqs go on past every
// seq the newer log gave, a consumer behind them is answered 410 and one
// that had every event gets the next.
func TestBinaryOlderEventLogPutBackKeepsSeqsGrowing(t *testing.T) {
	dataDir := t.TempDir()
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	evFile := filepath.Join(dataDir, events.FileName)
	var newest uint64
	var backup []byte
	for i := range 2 {
		p := testkit.Serve(t, env, serveArgs(dataDir)...)
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("put-back-%d", i))
		require.Eventually(t, func() bool {
			_, _, next := eventsAfter(t, p.AdminURL(t), newest)
			return next > newest
		}, waitFor, tick)
		require.Equal(t, 0, p.Stop(t), p.LogText())
		old, err := events.Open(evFile)
		require.NoError(t, err)
		newest = old.Newest()
		require.NoError(t, old.Close())
		if i == 0 {
			var err error
			backup, err = os.ReadFile(evFile)
			require.NoError(t, err)
		}
	}
	require.NoError(t, os.WriteFile(evFile, backup, 0o600))

	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	p.WaitLog(t, waitFor, "events.db is older than the event log the server last stopped with")
	base := p.AdminURL(t)
	code, _, _ := eventsAfter(t, base, 1)
	assert.Equal(t, http.StatusGone, code, "its events after 1 are not all there")
	opsConnect(t, p.Addr, opsPassword, "after-put-back")
	seqs := oneEventAfter(t, base, newest, "the consumer that had every event gets the next")
	assert.Equal(t, newest+1, seqs[0], "not a seq the newer log gave")
	assert.NotContains(t, p.LogText(), "its newest sessions could not be read", "the start reads the log from past the gap")
	assert.Equal(t, 0, p.Stop(t), p.LogText())
}
