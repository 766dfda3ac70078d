package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
)

// answer is one HTTP answer read whole, or why there was none.
type answer struct {
	status int
	body   []byte
	err    error
}

// getInFlight sends GET url and returns once the request is written (the
// server has it), with a channel for its answer.
func getInFlight(t *testing.T, url string) <-chan answer {
	t.Helper()
	wrote := make(chan struct{})
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	require.NoError(t, err)
	out := make(chan answer, 1)
	go func() {
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		out <- answer{status: r.StatusCode, body: b, err: err}
	}()
	select {
	case <-wrote:
	case a := <-out:
		t.Fatalf("GET %s answered before it was written: %+v", url, a)
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s was never written", url)
	}
	return out
}

// A node's graceful stop answers a pending long-poll at once (an empty
// answer, next its after) and ends an event stream cleanly, instead of
// being held for its whole time by them and cutting them off
// ("admin API closed with requests still in flight").
func TestNodeShutdownAnswersLongPolls(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	n := nodetest.Start(t, node.WithDataDir(t.TempDir()), node.WithEventRetention(100), node.WithLogger(zap.New(core)))
	// A client comes and goes (seqs 1 and 2): nobody is left for the
	// drain to disconnect, so no event answers the polls but the stop.
	c := testkit.Dial(t, n.Addr())
	c.Register(nodetest.Password, "poll-1")
	require.NoError(t, c.Conn.Close())
	api, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	var newest uint64
	require.Eventually(t, func() bool {
		page, err := api.Events(context.Background(), nil, 1, admin.EventsFilter{}, 0)
		newest = page.Next
		return err == nil && newest == 2
	}, 5*time.Second, 5*time.Millisecond, "the connect and disconnect never reached the log")

	after := strconv.FormatUint(newest, 10)
	poll := getInFlight(t, "http://"+n.AdminAddr()+"/v1/events?after="+after+"&wait=60s")
	filtered := getInFlight(t, "http://"+n.AdminAddr()+"/v1/events?after=0&wait=60s&type=client.shutdown_acked")
	stream := getInFlight(t, "http://"+n.AdminAddr()+"/v1/events/stream?after="+after)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, n.Shutdown(ctx))
	took := time.Since(start)
	assert.Less(t, took, 3*time.Second, "the stop waited on the long-poll")

	for _, p := range []struct {
		name string
		got  <-chan answer
		next uint64
	}{{"after=" + after, poll, newest}, {"after=0&type=client.shutdown_acked", filtered, 0}} {
		var a answer
		select {
		case a = <-p.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no answer", p.name)
		}
		require.NoError(t, a.err, p.name)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", p.name, a.body)
		var resp admin.EventsResponse
		require.NoError(t, json.Unmarshal(a.body, &resp), "%s: %s", p.name, a.body)
		assert.Empty(t, resp.Events, p.name)
		assert.Equal(t, p.next, resp.Next, p.name)
	}
	var s answer
	select {
	case s = <-stream:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end")
	}
	require.NoError(t, s.err, "the stream did not end cleanly")
	assert.Equal(t, http.StatusOK, s.status)
	assert.Zero(t, logs.FilterMessage("admin API closed with requests still in flight").Len())
}
