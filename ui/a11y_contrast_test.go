package ui_test

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/stretchr/testify/assert"
)

// An accessibility audit ran axe-core on every view, light and dark, and
// walked each by keyboard; these are its findings, each checked here
// without axe (its 650 KB script is not in the repository, and a test
// downloads nothing).

// lowContrast lists the status badges, stream badges, red buttons and
// error messages whose text is under WCAG AA's 4.5:1 on what is behind
// it. Each is drawn in main (a badge in a table cell, as the views put
// them), its colours resolved by a canvas, which reads any CSS colour
// (color-mix's included), and its background's tints laid over the
// page's from the element up.
const lowContrast = `(() => {
	const g = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
	const rgba = (c) => { g.clearRect(0, 0, 1, 1); g.fillStyle = c; g.fillRect(0, 0, 1, 1);
		const d = g.getImageData(0, 0, 1, 1).data; return [d[0], d[1], d[2], d[3] / 255]; };
	const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3]));
	const bg = (el) => { const layers = []; for (let e = el; e; e = e.parentElement) layers.push(rgba(getComputedStyle(e).backgroundColor));
		return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255]); };
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
		return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
	const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
	const box = document.createElement('div');
	box.innerHTML = '<table><tbody><tr><td><span class="badge on">connected</span></td><td><span class="badge off">disconnected</span></td>' +
		'<td><span class="badge warn">unreachable</span></td></tr></tbody></table><button class="danger">Ban…</button>' +
		'<span class="live state-live">live</span><span class="live state-retrying">reconnecting…</span><span class="live state-off">no event log</span>' +
		'<div class="flash error">refused</div><div class="flash">done</div><p class="error">stale</p>';
	document.getElementById('main').append(box);
	const out = [...box.querySelectorAll('span, button, div, p')].map((el) => {
		const r = ratio(over(rgba(getComputedStyle(el).color), bg(el)), bg(el));
		return r < 4.5 ? el.className + ' ' + r.toFixed(2) : '';
	}).filter(Boolean);
	box.remove();
	return out; })()`

// TestDashboardContrast: the text of what says a state (badges) or does
// harm (red buttons, errors) reads at 4.5:1 in either colour scheme. The
// audit measured the "connected" badge at 4.09, a cluster node's
// "unreachable" badge at 2.63 and the header's "reconnecting…" at 3.19;
// in the dark scheme, white on the red buttons and error messages 2.77.
func TestDashboardContrast(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	for _, scheme := range []string{"light", "dark"} {
		p.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
		p.open("http://" + s.AdminAddr + "/ui/#/clients")
		p.waitJS(live, 10*time.Second)
		var low []string
		p.eval(lowContrast, &low)
		assert.Empty(t, low, "%s scheme: text under 4.5:1", scheme)
	}
	assert.Empty(t, p.Problems())
}
