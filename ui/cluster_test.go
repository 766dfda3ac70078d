package ui_test

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// nodeStats is one line of GET /v1/stats' nodes list.
type nodeStats struct {
	Node      string `json:"node"`
	State     string `json:"state"`
	Connected int    `json:"connected"`
	Records   int    `json:"records"`
}

// The overview of a three-node cluster (three real `cliser serve`
// processes on an embedded nats-server) shows each node's connected count
// as the API gives it, and a node that stops shows as down.
func TestDashboardCluster(t *testing.T) {
	needChromium(t)
	ns := testkit.NATS(t)
	names := []string{"n1", "n2", "n3"}
	nodes := map[string]*testkit.Served{}
	for _, name := range names {
		nodes[name] = serve(t, nil, "--cluster", ns.ClientURL(), "--node-id", name, "--cluster-heartbeat", "2s")
	}
	// n1 holds 1 agent, n2 2, n3 3.
	for i, name := range names {
		for j := 0; j <= i; j++ {
			agent(t, nodes[name], fmt.Sprintf("%s-agent-%d", name, j))
		}
	}
	s := nodes["n1"]
	want := map[string]int{"n1": 1, "n2": 2, "n3": 3}
	waitAPINodes(t, s, func(got map[string]nodeStats) bool {
		for name, c := range want {
			if got[name].State != "up" || got[name].Connected != c {
				return false
			}
		}
		return true
	})

	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/overview")
	for name, c := range want {
		p.waitJS(fmt.Sprintf(`(() => { const r = document.querySelector('#nodes-body tr[data-node=%q]');
			return r && r.children[1].textContent === 'up' && r.children[2].textContent === %q })()`, name, fmt.Sprint(c)), 10*time.Second)
	}
	// The page's count of each node is the API's, read after the page's.
	var shown map[string]string
	p.eval(`Object.fromEntries([...document.querySelectorAll('#nodes-body tr')].map(r => [r.dataset.node, r.children[2].textContent]))`, &shown)
	api := apiNodes(t, s)
	require.Len(t, shown, 3)
	for name := range want {
		assert.Equal(t, fmt.Sprint(api[name].Connected), shown[name], "node %s: the page's connected count is the API's", name)
	}
	p.waitJS(`document.getElementById('nodes-total').children[2].textContent === '6'`, 5*time.Second)
	// The chart has a line per node, each ending on its count, and a
	// legend that names them.
	p.waitJS(`document.getElementById('chart').dataset.lines === '{"n1":1,"n2":2,"n3":3}'`, 10*time.Second)
	var legend []string
	p.eval(`[...document.querySelectorAll('#chart-legend li')].map((li) => li.textContent + (li.querySelector('.swatch') ? ' +line' : ''))`, &legend)
	assert.Equal(t, []string{"n1 (this node) +line", "n2 +line", "n3 +line"}, legend)
	assert.Empty(t, p.Problems(), "console errors or failed requests on load")
	p.screenshot("overview-cluster")

	// The clients table has each client's node.
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`(() => { const r = document.querySelector('tr[data-cid="n3-agent-2"]'); return r && r.children[4].textContent === 'n3' })()`, 10*time.Second)

	// A stopped node shows as down.
	require.NoError(t, nodes["n3"].Cmd.Process.Signal(syscall.SIGTERM))
	nodes["n3"].WaitExit(t)
	p.open("http://" + s.AdminAddr + "/ui/#/overview")
	took := p.waitJS(`(() => { const r = document.querySelector('#nodes-body tr[data-node="n3"]');
		return r && r.children[1].textContent === 'down' && r.children[2].textContent === '0' })()`, 15*time.Second)
	t.Logf("stopped node shown down %s after the page opened", took.Round(time.Millisecond))
	assert.Equal(t, "down", apiNodes(t, s)["n3"].State)
	p.waitJS(`document.getElementById('nodes-total').children[1].textContent === '2 of 3 up'`, 5*time.Second)
	// A down node sends no figures: no line, and the legend says so.
	p.waitJS(`document.getElementById('chart').dataset.lines === '{"n1":1,"n2":2}' &&
		document.querySelector('#chart-legend li[data-node="n3"]').textContent === 'n3 (down: no line)'`, 10*time.Second)
	assert.Empty(t, p.Problems())
	p.screenshot("overview-cluster-down")
}

// apiNodes is GET /v1/stats' nodes list by name.
func apiNodes(t *testing.T, s *testkit.Served) map[string]nodeStats {
	t.Helper()
	var st struct {
		Nodes []nodeStats `json:"nodes"`
	}
	apiGet(t, s, "", "/v1/stats", &st)
	out := map[string]nodeStats{}
	for _, n := range st.Nodes {
		out[n.Node] = n
	}
	return out
}

// waitAPINodes polls the API's nodes list until ok holds, up to 20 s.
func waitAPINodes(t *testing.T, s *testkit.Served, ok func(map[string]nodeStats) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := apiNodes(t, s)
		if ok(got) {
			return
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(got)
			t.Fatalf("the API's nodes never as wanted: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
