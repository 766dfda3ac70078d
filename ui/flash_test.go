package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/stretchr/testify/assert"
)

// Two messages on show at once are both readable, each whole inside a
// 375 px window: they sat at the same spot, the second over the first,
// and one with a long word (a 65-character client ID, which the Bans
// form says is not one) ran off the window's left edge.
func TestDashboardFlashesStayReadable(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.run(emulation.SetDeviceMetricsOverride(375, 740, 1, false))
	p.open("http://" + s.AdminAddr + "/ui/#/bans")
	p.waitJS(live, 10*time.Second)
	long := strings.Repeat("x", 65)
	for _, v := range []string{long, "a b"} {
		p.eval(`document.getElementById('ban-value').value = '`+v+`'; document.querySelector('#ban-form button[type=submit]').click(); true`, nil)
	}
	p.waitJS(`document.querySelectorAll('.flash').length === 2`, 5*time.Second)
	var boxes []struct{ Left, Right, Top, Bottom float64 }
	p.eval(`[...document.querySelectorAll('.flash')].map((f) => { const r = f.getBoundingClientRect(); return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom}; })`, &boxes)
	for i, b := range boxes {
		assert.True(t, b.Left >= 0 && b.Right <= 375 && b.Top >= 0 && b.Bottom <= 740, "message %d is not inside the window: %+v", i, b)
	}
	if len(boxes) == 2 {
		assert.True(t, boxes[0].Bottom <= boxes[1].Top || boxes[1].Bottom <= boxes[0].Top, "the messages overlap: %+v", boxes)
	}
	p.screenshot("flashes")
	assert.Empty(t, p.Problems())
}
