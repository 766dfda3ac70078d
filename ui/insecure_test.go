package ui_test

import (
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Over plain HTTP to a name that is not the loopback the page is not a
// secure context, and the browser gives it no navigator.clipboard: Copy
// selects the secret and says how to copy it, and throws nothing.
func TestDashboardCopyWithoutClipboard(t *testing.T) {
	needChromium(t)
	const name = "cliser-ops.test"
	s := serve(t, nil, "--admin-allowed-hosts", name)
	_, port, err := net.SplitHostPort(s.AdminAddr)
	require.NoError(t, err)
	p := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP "+name+" 127.0.0.1"))
	p.open("http://" + name + ":" + port + "/ui/#/credentials")
	p.waitJS(`document.getElementById('creds-body')?.textContent.length > 0`, 10*time.Second)
	var secure bool
	p.eval(`window.isSecureContext || !!navigator.clipboard`, &secure)
	require.False(t, secure, "http://%s is not a secure context: no navigator.clipboard", name)

	p.run(chromedp.SetValue(`#cred-cid`, "pos-0042", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
	p.waitJS(`document.getElementById('secret-value')?.textContent.length > 10`, 5*time.Second)
	p.click(`#secret-copy`)
	p.waitJS(`getSelection().toString() === document.getElementById('secret-value').textContent`, 5*time.Second)
	p.waitJS(`/Copied|Ctrl\+C/.test(document.getElementById('secret-box').textContent + (document.querySelector('.flash')?.textContent || ''))`, 5*time.Second)
	var said string
	p.eval(`document.getElementById('secret-copy').textContent + ' / ' + (document.querySelector('.flash')?.textContent || '')`, &said)
	t.Logf("Copy without navigator.clipboard: %s", said)
	// A browser that will not copy a selection either: the secret stays
	// selected and the page says how to copy it.
	p.eval(`document.execCommand = () => false; getSelection().removeAllRanges()`, nil)
	p.click(`#secret-copy`)
	p.waitJS(`getSelection().toString() === document.getElementById('secret-value').textContent &&
		document.querySelector('.flash')?.textContent.includes('Ctrl+C')`, 5*time.Second)
	assert.Empty(t, p.Problems(), "Copy without navigator.clipboard throws nothing")
}
