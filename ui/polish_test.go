package ui_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// unlabelled lists the form fields of the view that have no label.
const unlabelled = `[...document.querySelectorAll('main input, main select, dialog input')]
	.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map((e) => e.id || e.name)`

// clipped lists the fields of the view whose placeholder is wider than
// the box it is shown in.
const clipped = `(() => { const g = document.createElement('canvas').getContext('2d');
	return [...document.querySelectorAll('main input[placeholder]')].filter((e) => {
		if (!e.placeholder) return false;
		const cs = getComputedStyle(e);
		g.font = cs.fontStyle + ' ' + cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
		return g.measureText(e.placeholder).width > e.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
	}).map((e) => e.id + ': ' + e.placeholder) })()`

// liveIsGreen says whether the header's badge has the "connected" colour.
const liveIsGreen = `(() => { const s = document.createElement('span'); s.style.color = 'var(--on)'; document.body.append(s);
	const on = getComputedStyle(s).color; s.remove(); return getComputedStyle(document.getElementById('live')).color === on })()`

// What a person notices: labels, placeholders that fit, a badge that is
// green only when live, one time format.
func TestDashboardPolish(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	agent(t, s, "polish-1")
	waitConnected(t, s, "", 1, 10*time.Second)
	base := "http://" + s.AdminAddr
	p := newBrowser(t)

	t.Run("FieldsHaveLabelsAndRoom", func(t *testing.T) {
		p.t = t
		for _, view := range []string{"overview", "clients", "events", "bans", "credentials", "client/polish-1"} {
			p.open(base + "/ui/#/" + view)
			p.waitJS(`document.getElementById('main').children.length > 0`, 5*time.Second)
			var missing, cut []string
			p.eval(unlabelled, &missing)
			p.eval(clipped, &cut)
			assert.Empty(t, missing, "%s: fields without a label", view)
			assert.Empty(t, cut, "%s: placeholders cut off", view)
		}
		assert.Empty(t, p.Problems())
	})

	t.Run("ChartGridEvenAndExact", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/overview")
		p.waitJS(`!!document.getElementById('chart')?.dataset.ticks`, 10*time.Second)
		var ticks string
		p.eval(`document.getElementById('chart').dataset.ticks`, &ticks)
		assert.Equal(t, "0,1,2,3,4", ticks, "one client: whole, evenly spaced labels (were 0,0,1,1,1)")
	})

	t.Run("OnePageNoPager", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/clients")
		p.waitJS(`document.getElementById('page-info')?.textContent === 'page 1 · 1 shown · 1 record in all'`, 5*time.Second)
		var hidden bool
		p.eval(`document.getElementById('page-prev').hidden && document.getElementById('page-next').hidden`, &hidden)
		assert.True(t, hidden, "a single page: no Previous or Next")
	})

	t.Run("OneTimeFormat", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/overview")
		p.waitJS(`document.getElementById('stat-note').textContent.includes('updated')`, 5*time.Second)
		var note string
		p.eval(`document.getElementById('stat-note').textContent`, &note)
		assert.Regexp(t, `updated \d\d:\d\d:\d\d$`, note, "24-hour, as every other time on the page")
	})

	t.Run("BadgeGreenOnlyWhenLive", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/")
		p.waitJS(live, 10*time.Second)
		var green bool
		p.eval(liveIsGreen, &green)
		assert.True(t, green, "live: green")
		off := serve(t, nil, "--event-retention", "0")
		p.open("http://" + off.AdminAddr + "/ui/")
		p.waitJS(`document.getElementById('live').textContent === 'no event log'`, 10*time.Second)
		p.eval(liveIsGreen, &green)
		assert.False(t, green, "no event log: not green")
		assert.Empty(t, p.Problems())
	})
}
