package ui_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// In a cluster the Records card is the same figure as this node's line of
// the Nodes table (the bucket's records of the clients it held last). A
// client that moved from n2 to n1 stays in n2's registry, whose count the
// API's top-level records is: the page on n2 read Records 1 above an
// n2 line of 0. And the page on a node killed with SIGKILL says it does
// not answer rather than keep showing every node up. A new client does
// not show more connected than records until the next poll.
func TestDashboardClusterRecordsAndNodeKilled(t *testing.T) {
	needChromium(t)
	ns := testkit.NATS(t)
	args := func(name string) []string {
		return []string{"--cluster", ns.ClientURL(), "--node-id", name, "--cluster-heartbeat", "2s"}
	}
	n1 := serve(t, nil, args("n1")...)
	n2 := serve(t, nil, args("n2")...)
	c := register(t, n2, "mover")
	waitKnown(t, n1, "mover", `"cstatus":true`)
	require.NoError(t, c.Conn.Close())
	waitKnown(t, n1, "mover", `"cstatus":false`)
	register(t, n1, "mover")
	// The precondition: n2's registry still counts the client that moved,
	// the bucket has it n1's.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st struct {
			Records int         `json:"records"`
			Nodes   []nodeStats `json:"nodes"`
		}
		apiGet(t, n2, "", "/v1/stats", &st)
		line := -1
		for _, n := range st.Nodes {
			if n.Node == "n2" {
				line = n.Records
			}
		}
		if st.Records == 1 && line == 0 {
			break
		}
		require.False(t, time.Now().After(deadline), "n2's stats: records %d, its line's %d; want 1 and 0", st.Records, line)
		time.Sleep(50 * time.Millisecond)
	}

	p := newBrowser(t)
	p.open("http://" + n2.AdminAddr + "/ui/#/overview")
	line := `document.querySelector('#nodes-body tr[data-node="n2"]')`
	p.waitJS(line+`?.children[1].textContent === 'up' && document.querySelector('#nodes-body tr[data-node="n1"]')?.children[3].textContent === '1'`, 10*time.Second)
	var card, row string
	p.eval(`document.getElementById('stat-records').textContent`, &card)
	p.eval(line+`.children[3].textContent`, &row)
	require.Equal(t, row, card, "the Records card and this node's line")
	require.Equal(t, "0", card)
	require.Empty(t, p.Problems())

	// A client new to n2 moves its connected count at once, from the
	// stream, and its records with it: never more connected than records
	// (it read 1 connected of 0 records until the next poll).
	p.eval(`window.moreConnected = 0; new MutationObserver(() => {
		const n = (id) => Number(document.getElementById(id).textContent);
		if (n('stat-connected') > n('stat-records')) window.moreConnected++;
	}).observe(document.querySelector('.cards'), { subtree: true, childList: true, characterData: true })`, nil)
	register(t, n2, "fresh")
	p.waitJS(`document.getElementById('stat-connected').textContent === '1' && document.getElementById('stat-records').textContent === '1'`, 10*time.Second)
	var more int
	p.eval(`window.moreConnected`, &more)
	require.Zero(t, more, "the cards showed more clients connected than records")

	// The clients page's total is the cluster's (the nodes' lines added),
	// not the node's own: mover on n1, fresh on n2.
	p.open("http://" + n1.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.getElementById('page-info')?.textContent === 'page 1 · 2 shown · 2 records in all'`, 10*time.Second)
	p.open("http://" + n2.AdminAddr + "/ui/#/overview")
	p.waitJS(`document.getElementById('stat-records').textContent === '1'`, 10*time.Second)

	kill9(t, n2)
	took := p.waitJS(awayJS, 10*time.Second)
	t.Logf("the page of the killed node says it is away %s after", took.Round(time.Millisecond))
	_ = p.Problems()
}
