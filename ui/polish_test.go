package ui_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// What a person notices: one time format.
func TestDashboardPolish(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	agent(t, s, "polish-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	base := "http://" + s.AdminAddr
	p := newBrowser(t)

	t.Run("OneTimeFormat", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/overview")
		p.waitJS(`document.getElementById('stat-note').textContent.includes('updated')`, 5*time.Second)
		var note string
		p.eval(`document.getElementById('stat-note').textContent`, &note)
		assert.Regexp(t, `updated \d\d:\d\d:\d\d$`, note, "24-hour, as every other time on the page")
	})
}
