package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/internal/testkit"
)

// The chart's line ends at now on the count the "Connected now" card
// shows, not at the last sample (taken every 5 s): a fleet that had just
// come in showed 15,000 on the card over a line at 0.
func TestDashboardChartEndsAtConnectedNow(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/overview")
	p.waitJS(`document.getElementById('chart')?.dataset.last === '0'`, 10*time.Second)

	clients := make([]*testkit.RawClient, 7)
	for i := range clients {
		clients[i] = register(t, s, fmt.Sprintf("chart-%d", i))
	}
	lineEndsAt := func(n int) {
		t.Helper()
		// Read in the same turn as the card: the next sample is seconds away.
		p.waitJS(fmt.Sprintf(`document.getElementById('stat-connected').textContent === '%d'`, n), 10*time.Second)
		var last, ticks string
		p.eval(`document.getElementById('chart').dataset.last`, &last)
		p.eval(`document.getElementById('chart').dataset.ticks`, &ticks)
		assert.Equal(t, fmt.Sprint(n), last, "the line ends on the card's count")
		assert.Equal(t, "0,2,4,6,8", ticks, "the grid reaches the count now")
	}
	lineEndsAt(7)
	for _, c := range clients[:2] {
		_ = c.Conn.Close()
	}
	lineEndsAt(5)
	assert.Empty(t, p.Problems())
}
