package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/stretchr/testify/assert"
)

// In a window 375 px wide (a phone held upright) the page is no wider
// than the window and the header's links and stream badge are all on
// show: the header did not wrap, and at 584 px it pushed Bans,
// Credentials and the badge off the right edge, the page scrolling
// sideways on every view (docs/dashboard.md says it never does).
func TestDashboardPhoneWidth(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	register(t, s, "phone-0001")

	p := newBrowser(t)
	p.run(emulation.SetDeviceMetricsOverride(375, 740, 1, false))
	base := "http://" + s.AdminAddr + "/ui/"
	for _, hash := range []string{"#/overview", "#/clients", "#/client/phone-0001", "#/events", "#/bans", "#/credentials"} {
		p.blank()
		p.open(base + hash)
		p.waitJS(`document.getElementById('live').textContent === 'live'`, 10*time.Second)
		var w struct {
			Page, Window int
			Out          []string
		}
		p.eval(`({Page: document.documentElement.scrollWidth, Window: innerWidth,
			Out: [...document.querySelectorAll('header a, #live')].filter((e) => e.getBoundingClientRect().right > innerWidth).map((e) => e.textContent)})`, &w)
		assert.LessOrEqual(t, w.Page, w.Window, "%s: the page is wider than the window", hash)
		assert.Empty(t, w.Out, "%s: off the window's right edge", hash)
		p.screenshot("phone-" + strings.NewReplacer("#/", "", "/", "-").Replace(hash))
	}
	assert.Empty(t, p.Problems())
}
