package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The clients page says how many records its filter has in all, beside
// the page's count, and follows clients that come and go on any page; a
// prefix's count is not kept, and none is said.
func TestDashboardClientsSaysTheTotal(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	for i := range 5 {
		c := register(t, s, fmt.Sprintf("total-%d", i))
		if i >= 3 {
			_ = c.Conn.Close()
		}
	}
	waitConnected(t, s, "", 3, 10*time.Second)
	base := "http://" + s.AdminAddr
	p := newBrowser(t)
	info := func(want string) {
		t.Helper()
		p.waitJS(fmt.Sprintf(`document.getElementById('page-info')?.textContent === %q`, want), 10*time.Second)
	}

	p.open(base + "/ui/#/clients")
	info("page 1 · 5 shown · 5 records in all")
	p.open(base + "/ui/#/clients?status=disconnected")
	info("page 1 · 2 shown · 2 disconnected in all")
	p.open(base + "/ui/#/clients?status=connected")
	info("page 1 · 3 shown · 3 connected in all")
	register(t, s, "total-new")
	info("page 1 · 4 shown · 4 connected in all")
	p.open(base + "/ui/#/clients?prefix=total-1")
	info("page 1 · 1 shown")
	assert.Empty(t, p.Problems())
}
