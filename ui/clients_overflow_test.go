package ui_test

import (
	"fmt"
	"testing"
	"time"
)

// A fleet registering under the clients table's last page (here the only
// one, of an empty server) keeps it a page: once it holds 100 rows it is
// read again and paged with the API's cursor; another page takes the
// clients of its range up to 200 rows. Each page took every new client of
// its range as a row, 15,000 in one "page 1", and inserting each in order
// froze the tab for 14 s (a browser audit).
func TestDashboardLastPageStaysAPage(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.getElementById('live').textContent === 'live'`, 10*time.Second)
	p.waitJS(`document.getElementById('page-info').textContent === 'no client matches'`, 10*time.Second)
	for i := range 300 {
		register(t, s, fmt.Sprintf("ov-%03d", i))
	}
	waitConnected(t, s, "", 300, 10*time.Second)
	p.waitJS(`document.getElementById('page-info').textContent.endsWith('300 records in all')`, 10*time.Second)
	p.waitJS(`document.querySelectorAll('#clients-body tr').length === 100 && !document.getElementById('page-next').disabled`, 10*time.Second)
	p.click(`#page-next`)
	p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'ov-100' && document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
	p.click(`#page-next`)
	p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'ov-200' && document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
	// A full last page: a client after it is the next page's.
	register(t, s, "ov-300")
	p.waitJS(`!document.getElementById('page-next').disabled && document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
	p.click(`#page-next`)
	p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'ov-300'`, 10*time.Second)
	// One that is not full takes a client after its range live, as it did.
	register(t, s, "ov-301")
	p.waitJS(`document.querySelector('tr[data-cid="ov-301"] .badge.on') && document.querySelectorAll('#clients-body tr').length === 2`, 5*time.Second)
	// A page with a next one takes the clients of its range, up to twice
	// a page: 300 that all sort before its first row go to pages of their
	// own.
	p.blank()
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'ov-000' && document.querySelectorAll('#clients-body tr').length === 100`, 10*time.Second)
	for i := range 300 {
		register(t, s, fmt.Sprintf("a-%03d", i))
	}
	waitConnected(t, s, "", 602, 10*time.Second)
	p.waitJS(`document.getElementById('page-info').textContent.endsWith('602 records in all')`, 10*time.Second)
	p.waitJS(`document.querySelector('#clients-body tr')?.dataset.cid === 'a-000' && document.querySelectorAll('#clients-body tr').length <= 200`, 10*time.Second)
	for _, pr := range p.Problems() {
		t.Errorf("problem: %s", pr)
	}
}
