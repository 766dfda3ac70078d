package offheap

import (
	"os"
	"testing"
)

// residentOf is r's resident pages and its pages in all.
func residentOf(t *testing.T, r *Region) (in, pages int) {
	t.Helper()
	b, err := r.Resident()
	if err != nil {
		t.Fatal(err)
	}
	return b / os.Getpagesize(), len(r.Bytes()) / os.Getpagesize()
}

// A populated region's pages are present before the first touch (one
// mmap, not a fault a page); a plain one's are not.
func TestNewPopulatedMapsEveryPage(t *testing.T) {
	p := NewPopulated(64 << 10)
	defer p.Release()
	if in, pages := residentOf(t, p); in != pages {
		t.Fatalf("populated: %d of %d pages resident", in, pages)
	}
	r := New(64 << 10)
	defer r.Release()
	if in, pages := residentOf(t, r); in != 0 {
		t.Fatalf("plain: %d of %d pages resident before a touch", in, pages)
	}
}

// Resident counts the pages written and no other, across more pages than
// one mincore call asks about (256), so that a table's room for growth is
// not counted while it is not used.
func TestResidentCountsThePagesWritten(t *testing.T) {
	page := os.Getpagesize()
	r := New(600 * page)
	defer r.Release()
	b := r.Bytes()
	for _, p := range []int{0, 1, 2, 255, 256, 257, 599} {
		b[p*page+7] = 1
	}
	if in, pages := residentOf(t, r); in != 7 || pages != 600 {
		t.Fatalf("%d of %d pages resident, want 7 of 600", in, pages)
	}
	r.Release()
	if got, err := r.Resident(); got != 0 || err != nil {
		t.Fatalf("released: %d, %v", got, err)
	}
}
