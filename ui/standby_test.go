package ui_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The dashboard opened while a cluster node waits for NATS at start (a
// token set) says why, without asking for the token, and turns into the
// dashboard once NATS comes and the node is up: before, the browser got
// the standby's JSON 401 and stayed there.
func TestDashboardWhileTheNodeWaitsForNATS(t *testing.T) {
	needChromium(t)
	const token = "standby-page-token-7c1d"
	natsAddr, listen, adminAddr := testkit.FreeAddr(t), testkit.FreeAddr(t), testkit.FreeAddr(t)
	testkit.Start(t, testkit.Environ([]string{"CLISER_PASSWORD", "CLISER_ADMIN_TOKEN", "CLISER_CLUSTER"},
		"CLISER_PASSWORD="+password, "CLISER_ADMIN_TOKEN="+token),
		"serve", "--listen", listen, "--admin-listen", adminAddr, "--cluster", "nats://"+natsAddr,
		"--node-id", "n1", "--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	base := "http://" + adminAddr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, 10*time.Second, 20*time.Millisecond, "the standby answers")

	p := newBrowser(t)
	p.open(base + "/ui/#/overview")
	p.waitJS(`document.title === 'cliser: starting' && document.getElementById('why').textContent.includes('waiting for NATS at nats://`+natsAddr+`')`, 10*time.Second)
	var text string
	p.eval(`document.body.innerText`, &text)
	assert.NotContains(t, text, "bearer token", "the page asks for no token")
	p.screenshot("standby")
	problems := p.Problems()
	for _, pr := range problems { // the page's own 503, nothing else
		assert.True(t, strings.Contains(pr, "503") && strings.Contains(pr, base+"/ui/"), "%s", pr)
	}

	testkit.NATSAt(t, t.TempDir(), testkit.PortOf(t, natsAddr))
	require.Eventually(t, func() bool { code, _ := testkit.HTTPGet(t, base+"/readyz"); return code == http.StatusOK },
		20*time.Second, 50*time.Millisecond, "the node is up")
	took := p.waitJS(`document.getElementById('login')?.open === true`, 10*time.Second)
	t.Logf("the dashboard asked for the token %s after the node was up", took.Round(time.Millisecond))
	p.run(chromedp.SendKeys(`#login-token`, token, chromedp.ByQuery), chromedp.Click(`#login-submit`, chromedp.ByQuery))
	p.waitJS(`!document.getElementById('login').open && document.getElementById('stat-connected').textContent === '0'`, 10*time.Second)
	var href string
	p.eval(`location.href`, &href)
	assert.Equal(t, base+"/ui/#/overview", href, "the reloads kept the view asked for")
}
