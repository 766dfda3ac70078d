package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// An empty list says so once: the Bans view said "no bans" in its table
// and again under it, beside the pager; the Credentials view likewise.
func TestDashboardEmptyListSaysSoOnce(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	for _, v := range []struct{ view, body, none string }{
		{"bans", "bans-body", "no bans"},
		{"credentials", "creds-body", "no credentials"},
	} {
		p.open("http://" + s.AdminAddr + "/ui/#/" + v.view)
		// The pager's line is set with the rows, in the same task.
		p.waitJS(fmt.Sprintf(`document.getElementById(%q).textContent === %q`, v.body, v.none), 10*time.Second)
		var said int
		p.eval(fmt.Sprintf(`document.getElementById('main').innerText.split(%q).length - 1`, v.none), &said)
		assert.Equal(t, 1, said, "times the %s view says %q", v.view, v.none)
	}
	assert.Empty(t, p.Problems())
}
