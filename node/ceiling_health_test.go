package node_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// While the connection ceiling refuses every new client with "190 server
// full", /readyz (and so /v1/health, the dashboard's banner and cliser
// status) says so in a note; it said only "ready". The server stays
// ready: its clients are served. The note goes once a tenth of the
// ceiling is free again (here: one of ten connections closes). The
// gauges cliser_connections_open and _max say how near it is.
func TestReadyzNotesAFullConnectionCeiling(t *testing.T) {
	n := nodetest.Start(t, node.WithReactorOptions(reactor.WithMaxConns(10)))
	readyz := func() (int, map[string]string) {
		resp, err := http.Get("http://" + n.AdminAddr() + "/readyz")
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}
	code, body := readyz()
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, "connections", "no note before the ceiling is reached")

	var first *testkit.RawClient
	for i := range 10 {
		c := testkit.Dial(t, n.Addr())
		c.Expect("110 password")
		if i == 0 {
			first = c
		}
	}
	testkit.Dial(t, n.Addr()).ExpectClosed("190 " + protocol.ReasonServerFull.String())
	base := "http://" + n.AdminAddr()
	ceiling, ok := testkit.Metric(base, "cliser_connections_max")
	require.True(t, ok)
	assert.EqualValues(t, 10, ceiling)
	require.Eventually(t, func() bool { // the refused one's close may not have run yet
		open, ok := testkit.Metric(base, "cliser_connections_open")
		return ok && open == 10
	}, 5*time.Second, 10*time.Millisecond, "cliser_connections_open")
	code, body = readyz()
	assert.Equal(t, http.StatusOK, code, "a full server still serves its clients")
	assert.Contains(t, body["connections"], "190 server full", "readyz: %v", body)

	require.NoError(t, first.Conn.Close())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, body = readyz(); body["connections"] == "" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the note stayed after the ceiling had room: %v", body)
		time.Sleep(10 * time.Millisecond)
	}
}

// Below a ceiling of 10 a tenth of it is no connection: the refused
// connection's own close ended the filling at once ("room again" logged
// while every new client was still refused), and the note never showed
// (late audit). One connection at least must be free again.
func TestReadyzNotesASmallFullConnectionCeiling(t *testing.T) {
	n := nodetest.Start(t, node.WithReactorOptions(reactor.WithMaxConns(5)))
	for range 5 {
		testkit.Dial(t, n.Addr()).Expect("110 password")
	}
	testkit.Dial(t, n.Addr()).ExpectClosed("190 " + protocol.ReasonServerFull.String())
	base := "http://" + n.AdminAddr()
	require.Eventually(t, func() bool { // the refused one's close has run
		open, ok := testkit.Metric(base, "cliser_connections_open")
		return ok && open == 5
	}, 5*time.Second, 10*time.Millisecond, "cliser_connections_open")
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Contains(t, body["connections"], "190 server full", "readyz: %v", body)
}

// A registry full for --max-clients refuses registrations with "190
// server full" as the ceiling refuses connections, and said so in a
// counter and a warning a minute alone: /readyz, /v1/health and cliser
// status said "ready" and nothing more (scale audit). Now a "clients"
// note says since when, and the server stays ready.
func TestReadyzNotesAFullRegistry(t *testing.T) {
	n := nodetest.Start(t, node.WithRegistryOptions(registry.WithMaxClients(2)))
	base := "http://" + n.AdminAddr()
	code, body := testkit.HTTPGet(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, `"clients"`, "no note before a refusal")

	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "full-1")
	testkit.Dial(t, n.Addr()).Register(nodetest.Password, "full-2")
	c := testkit.Dial(t, n.Addr())
	c.Send("110 " + nodetest.Password + "\n120 full-3\n")
	c.ExpectClosed("110 password", "120 id", "190 "+protocol.ReasonServerFull.String())

	code, body = testkit.HTTPGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, "a full registry still serves its clients")
	var notes map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &notes))
	assert.Contains(t, notes["clients"], "registry is full (--max-clients)", "readyz: %v", notes)
	code, body = testkit.HTTPGet(t, base+"/v1/health")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "190 server full", "the health's notes carry it too")
}
