package ui_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// recordJS is the text of a field of the client view's record (its dt
// label, "status", "node", ...), or undefined.
func recordJS(label string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#client-record dt')].find((d) => d.textContent === %q)?.nextElementSibling.textContent`, label)
}

// A client's page on n1 follows a client n2 holds: the event of its end
// reaches n1's stream a moment before n2's record write reaches the
// bucket, and the read the event prompts must not leave the page showing
// it connected (with Kick enabled) while its sessions say it was kicked.
func TestDashboardClientPageFollowsAnotherNodesClient(t *testing.T) {
	needChromium(t)
	ns := testkit.NATS(t)
	n1 := serve(t, nil, "--cluster", ns.ClientURL(), "--node-id", "n1", "--cluster-heartbeat", "2s")
	n2 := serve(t, nil, "--cluster", ns.ClientURL(), "--node-id", "n2", "--cluster-heartbeat", "2s")
	const n = 12
	for i := range n {
		register(t, n2, fmt.Sprintf("far-%02d", i))
	}
	// n1 lists them all, connected on n2.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Clients []struct {
				CStatus bool   `json:"cstatus"`
				Node    string `json:"node"`
			} `json:"clients"`
		}
		apiGet(t, n1, "", "/v1/clients?status=connected&prefix=far-", &list)
		if len(list.Clients) == n {
			break
		}
		require.False(t, time.Now().After(deadline), "n1 lists %d of the %d clients of n2", len(list.Clients), n)
		time.Sleep(20 * time.Millisecond)
	}
	p := newBrowser(t)
	p.open("http://" + n1.AdminAddr + "/ui/#/overview")
	p.waitJS(`document.getElementById('live').textContent === 'live'`, 10*time.Second)
	for i := range n {
		cid := fmt.Sprintf("far-%02d", i)
		p.eval(fmt.Sprintf(`location.hash = '#/client/%s'`, cid), nil)
		p.waitJS(recordJS("status")+` === 'connected' && `+recordJS("node")+` === 'n2' && !document.getElementById('act-kick').disabled`, 5*time.Second)
		status, _ := apiDo(t, n2, "", http.MethodPost, "/v1/clients/"+cid+"/kick", "")
		require.Equal(t, http.StatusAccepted, status)
		took := p.waitJS(recordJS("status")+` === 'disconnected' && `+recordJS("last reason")+` === 'kicked' && document.getElementById('act-kick').disabled
			&& document.querySelector('#client-history tr')?.children[2].textContent === 'kicked'`, 4*time.Second)
		t.Logf("%s shown kicked after %s", cid, took.Round(time.Millisecond))
	}
	assert.Empty(t, p.Problems())

	// A takeover: the client moves from n2 to n1 while its page is open;
	// n2's "replaced" is the end of the older session, not of the client.
	// The page is open before n1 knows the client: it has no record yet,
	// and the event of its registration brings it.
	p.eval(`location.hash = '#/client/far-move'`, nil)
	p.waitJS(`document.getElementById('client-record').textContent.startsWith('No record: far-move')`, 5*time.Second)
	register(t, n2, "far-move")
	p.waitJS(recordJS("status")+` === 'connected' && `+recordJS("node")+` === 'n2'`, 5*time.Second)
	register(t, n1, "far-move")
	p.waitJS(recordJS("status")+` === 'connected' && `+recordJS("node")+` === 'n1' && !document.getElementById('act-kick').disabled
		&& [...document.querySelectorAll('#client-history tr')].map((r) => r.children[2].textContent + '@' + r.children[5].textContent).join() === '—@n1,replaced@n2'`, 5*time.Second)
	assert.Empty(t, p.Problems(), "a client not yet known is no failed request")
}
