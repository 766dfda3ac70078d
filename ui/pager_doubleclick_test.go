package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Two clicks on Next while its page loads moved the page number twice,
// the second time to a page whose cursor was not known yet: the request
// went without one, and page 1's rows showed as "page 3", every page
// after it off by one (dashboard audit). The second click now waits for
// the cursor, and the label and the rows agree.
func TestDashboardNextClickedTwiceShowsThePageItSays(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for i := range 250 {
		register(t, s, fmt.Sprintf("pg-%03d", i))
	}
	waitConnected(t, s, "", 250, 10*time.Second)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100 && !document.getElementById('page-next').disabled`, 10*time.Second)
	p.eval(`(() => { const b = document.getElementById('page-next'); b.click(); b.click(); return true; })()`, new(bool))
	// The count's total comes from /v1/stats, read apart from the page:
	// wait for both (a label without it failed under CI load).
	p.waitJS(`(t => t.startsWith('page ') && !t.startsWith('page 1 ') && t.includes('records in all'))(document.getElementById('page-info').textContent)`, 10*time.Second)
	var info, first string
	p.eval(`document.getElementById('page-info').textContent`, &info)
	p.eval(`document.querySelector('#clients-body tr')?.dataset.cid`, &first)
	assert.Equal(t, "page 2 · 100 shown · 250 records in all", info)
	assert.Equal(t, "pg-100", first, "the rows of the page the label names")
	for _, pr := range p.Problems() {
		t.Errorf("problem: %s", pr)
	}
}
